// Inputs that must fail loudly, naming the file and tensor: a truncated statistics file, statistics
// of another model, a NaN statistic; and an export whose weights were tampered with, which verify
// must report (it has to be able to fail).
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/verify.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

std::string read_all(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The real statistics with one tensor replaced (or dropped when `replacement` is undefined).
void write_modified_stats(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& name,
                          const at::Tensor& replacement) {
  const checkpoint::SafetensorsFile st(from);
  checkpoint::NamedTensors tensors;
  for (const auto& e : st.entries()) {
    if (e.name == name) {
      if (replacement.defined()) tensors.push_back({name, replacement});
      continue;
    }
    at::Tensor t = at::empty(e.info.shape, at::kFloat);
    st.copy_to(e.name, t.data_ptr<float>());
    tensors.push_back({e.name, t});
  }
  checkpoint::write_safetensors(to, tensors);
}

// Runs quantize with `stats` and returns the CheckpointError it must throw.
checkpoint::CheckpointError quantize_error(const std::filesystem::path& shared, const std::filesystem::path& stats,
                                           const std::filesystem::path& out) {
  pipeline::QuantizeOptions q;
  q.model = stories_layout(shared, "hf");
  q.stats = stats;
  q.out = out;
  try {
    pipeline::quantize_and_export(cpu_backend(), q);
  } catch (const checkpoint::CheckpointError& e) {
    return e;
  }
  ADD_FAILURE() << "quantize accepted " << stats;
  return checkpoint::CheckpointError(stats, "(no error)");
}

TEST(PipelineHostileInput, TruncatedStatsFileNamesTheFile) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const std::string bytes = read_all(small_stats(shared, "hf"));
  write_bytes(scratch / "truncated.safetensors", bytes.substr(0, bytes.size() - 100));
  const auto e = quantize_error(shared, scratch / "truncated.safetensors", scratch / "out");
  EXPECT_EQ(e.file(), scratch / "truncated.safetensors") << e.what();
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
  EXPECT_EQ(hidden_files(scratch.path()), std::vector<std::string>{});
}

TEST(PipelineHostileInput, StatsOfAnotherModelNameTheTensorAndTheShape) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  // down_proj of a model whose intermediate size is 128, not 172.
  const std::string name = "model.layers.0.mlp.down_proj.absmax";
  write_modified_stats(small_stats(shared, "hf"), scratch / "other.safetensors", name, at::ones({128}, at::kFloat));
  const auto e = quantize_error(shared, scratch / "other.safetensors", scratch / "out");
  EXPECT_EQ(e.tensor(), name) << e.what();
  EXPECT_NE(std::string(e.what()).find("in_features 172"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("other.safetensors"), std::string::npos) << e.what();
  EXPECT_FALSE(std::filesystem::exists(scratch / "out"));
}

TEST(PipelineHostileInput, StatsMissingALayerNameTheAbsentTensor) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const std::string name = "model.layers.4.self_attn.o_proj.max";
  write_modified_stats(small_stats(shared, "hf"), scratch / "fewer.safetensors", name, at::Tensor());
  const auto e = quantize_error(shared, scratch / "fewer.safetensors", scratch / "out");
  EXPECT_EQ(e.tensor(), name) << e.what();
  EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos) << e.what();
}

TEST(PipelineHostileInput, NanStatisticIsRefused) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const std::string name = "model.layers.1.mlp.gate_proj.absmax";
  at::Tensor t = at::ones({64}, at::kFloat);
  t[5] = std::nanf("");
  write_modified_stats(small_stats(shared, "hf"), scratch / "nan.safetensors", name, t);
  const auto e = quantize_error(shared, scratch / "nan.safetensors", scratch / "out");
  EXPECT_EQ(e.tensor(), name) << e.what();
  EXPECT_NE(std::string(e.what()).find("channel 5"), std::string::npos) << e.what();
}

TEST(PipelineHostileInput, VerifyReportsATamperedWeightCode) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  pipeline::QuantizeOptions q;
  q.model = stories_layout(shared, "hf");
  q.stats = small_stats(shared, "hf");
  q.out = scratch / "good";
  pipeline::quantize_and_export(cpu_backend(), q);
  // The same export with one int8 code moved by 2 steps: an error of >= 1.5 scale, 3x the bound.
  const auto good = checkpoint::open_model_dir(q.out);
  checkpoint::NamedTensors tensors;
  const std::string victim = "model.layers.3.mlp.up_proj.weight";
  for (const auto& n : good.checkpoint->tensor_names()) {
    at::Tensor t = good.checkpoint->tensor(n);
    if (n == victim) {
      const int8_t v = t[10][20].item<int8_t>();
      t[10][20] = static_cast<int8_t>(v > 0 ? v - 2 : v + 2);
    }
    tensors.push_back({n, t});
  }
  std::filesystem::create_directory(scratch / "bad");
  checkpoint::write_safetensors_sharded(scratch / "bad", tensors, 1ull << 30);
  std::filesystem::copy_file(q.out / "config.json", scratch / "bad" / "config.json");
  pipeline::VerifyOptions v;
  v.original = q.model;
  v.quantized = scratch / "bad";
  v.tokens = 32;
  const auto r = pipeline::verify_export(cpu_backend(), v);
  ASSERT_FALSE(r.passed());
  bool named = false;
  for (const auto& f : r.failures) named |= f.find("model.layers.3.mlp.up_proj") != std::string::npos;
  EXPECT_TRUE(named) << r.to_json().dump(2);
  for (const auto& c : r.linears)
    if (c.name == "model.layers.3.mlp.up_proj") {
      EXPECT_GE(c.max_error_over_bound, 2.9);
      EXPECT_EQ(c.worst_row, 10);
      EXPECT_EQ(c.worst_col, 20);
    }
}

}  // namespace
}  // namespace smoothcheck::testing
