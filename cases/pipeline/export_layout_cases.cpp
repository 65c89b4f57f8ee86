// The export's layout and its index (numerics.md §11): total_size exact and 4·Σin_features larger
// with migration scales than without; config.json's quantization_config; the output directory
// replaced only with --force, and atomically.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/checkpoint/llama_config.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/models/quantized_layout.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

pipeline::QuantizeOptions options(const std::filesystem::path& shared, const std::filesystem::path& out) {
  pipeline::QuantizeOptions q;
  q.model = stories_layout(shared, "hf-sharded-bin");
  q.stats = small_stats(shared, "hf-sharded-bin");
  q.out = out;
  q.container = pipeline::ExportContainer::bin;
  return q;
}

TEST(PipelineExportLayout, MigrationScalesAddExactlyFourBytesPerInputFeature) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  pipeline::QuantizeOptions with = options(shared, scratch / "with");
  pipeline::QuantizeOptions without = options(shared, scratch / "without");
  without.migration_scales = false;
  pipeline::quantize_and_export(cpu_backend(), with);
  pipeline::quantize_and_export(cpu_backend(), without);
  const auto a = checkpoint::read_shard_index(scratch / "with" / "pytorch_model.bin.index.json");
  const auto b = checkpoint::read_shard_index(scratch / "without" / "pytorch_model.bin.index.json");
  ASSERT_TRUE(a.total_size && b.total_size);

  // stories260K: 5 layers x (4·64 + 2·64 + 172) input features (q, k, v, o, gate, up; down).
  const uint64_t sum_in = 5 * (4 * 64 + 2 * 64 + 172);
  EXPECT_EQ(*a.total_size - *b.total_size, 4 * sum_in);
  const auto config = checkpoint::read_llama_config(stories_layout(shared, "hf-sharded-bin") / "config.json");
  const QuantizedLayoutConfig lc = layout_config_from(config, DType::f16);
  ASSERT_EQ(lc.dtype, DType::f16);  // the shards store float16
  EXPECT_EQ(*a.total_size, static_cast<uint64_t>(quantized_export_total_size(lc, true)));
  EXPECT_EQ(*b.total_size, static_cast<uint64_t>(quantized_export_total_size(lc, false)));
  // The sum of the shard's tensors, read back, agrees with the index.
  const auto ckpt = checkpoint::open_checkpoint(scratch / "with");
  uint64_t stored = 0;
  for (const auto& n : ckpt->tensor_names()) stored += ckpt->info(n).nbytes;
  EXPECT_EQ(stored, *a.total_size);
}

TEST(PipelineExportLayout, ConfigCarriesQuantizationConfig) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  pipeline::QuantizeOptions q = options(shared, scratch / "out");
  q.recipe = Recipe::smoothquant;
  q.alpha = 0.85f;
  q.mode = SmoothMode::migration;
  pipeline::quantize_and_export(cpu_backend(), q);
  const auto qc = pipeline::read_quantization_config(scratch / "out" / "config.json");
  ASSERT_TRUE(qc.has_value());
  EXPECT_EQ(qc->recipe, Recipe::smoothquant);
  EXPECT_FLOAT_EQ(qc->alpha, 0.85f);
  EXPECT_EQ(qc->mode, SmoothMode::migration);
  EXPECT_EQ(qc->weight_variant, WeightQuant::lmdeploy);
  EXPECT_TRUE(qc->migration_scales);
  // The rest of config.json is the model's and still reads as a LLaMA config.
  EXPECT_EQ(checkpoint::read_llama_config(scratch / "out" / "config.json").hidden_size, 64);
}

TEST(PipelineExportLayout, ExistingOutputRefusedWithoutForceAndReplacedWithIt) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const auto out = scratch / "out";
  std::filesystem::create_directory(out);
  write_bytes(out / "keep.txt", "an earlier export");
  pipeline::QuantizeOptions q = options(shared, out);
  EXPECT_THROW(pipeline::quantize_and_export(cpu_backend(), q), std::invalid_argument);
  EXPECT_TRUE(std::filesystem::exists(out / "keep.txt"));
  q.force = true;
  pipeline::quantize_and_export(cpu_backend(), q);
  EXPECT_FALSE(std::filesystem::exists(out / "keep.txt"));
  EXPECT_TRUE(std::filesystem::exists(out / "pytorch_model.bin.index.json"));
  EXPECT_EQ(hidden_files(scratch.path()), std::vector<std::string>{}) << "the old export or the stage was left behind";
}

TEST(PipelineExportLayout, OutputInsideTheInputIsRefused) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  // A writable copy of the model, so that a wrong implementation could not touch the shared folder.
  const auto model = scratch / "model";
  std::filesystem::create_directory(model);  // writable, unlike the read-only shared folder it copies
  std::filesystem::copy(stories_layout(shared, "hf"), model, std::filesystem::copy_options::recursive);
  const Fingerprint before = fingerprint(model);
  pipeline::QuantizeOptions q;
  q.model = model;
  q.stats = small_stats(shared, "hf");
  q.out = model;
  q.force = true;
  EXPECT_THROW(pipeline::quantize_and_export(cpu_backend(), q), std::invalid_argument);
  q.out = model / "quantized";
  EXPECT_THROW(pipeline::quantize_and_export(cpu_backend(), q), std::invalid_argument);
  EXPECT_EQ(fingerprint(model), before);
}

}  // namespace
}  // namespace smoothcheck::testing
