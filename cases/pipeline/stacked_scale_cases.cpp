// The engine-side loader (numerics.md §11): stacked qkv_proj / gate_up_proj get one [in_features]
// migration vector each from an export; a q/k/v set whose vectors differ (the seed's loader bug in
// reverse: what an exporter that smoothed q, k and v separately would write) is refused by name.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/llama_layout.h"
#include "harness/pipeline/stacked_scales.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

const std::filesystem::path& migration_export(const std::filesystem::path& shared) {
  static const std::filesystem::path out = [&] {
    pipeline::QuantizeOptions q;
    q.model = stories_layout(shared, "hf");
    q.stats = small_stats(shared, "hf");
    q.out = process_scratch() / "stacked-export";
    q.mode = SmoothMode::migration;
    pipeline::quantize_and_export(cpu_backend(), q);
    return q.out;
  }();
  return out;
}

TEST(PipelineStackedScales, OneInputVectorPerStackedParameter) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto dir = checkpoint::open_model_dir(migration_export(shared));
  const auto config = checkpoint::llama_config(dir);
  const auto stacked = pipeline::load_stacked_migration_scales(*dir.checkpoint, config);
  ASSERT_EQ(stacked.size(), 10u);
  for (int l = 0; l < 5; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    ASSERT_EQ(stacked.count(p + "self_attn.qkv_proj"), 1u);
    EXPECT_EQ(stacked.at(p + "self_attn.qkv_proj").size(), 64u);  // in_features, not 64 + 32 + 32 outputs
    EXPECT_EQ(stacked.at(p + "mlp.gate_up_proj").size(), 64u);     // not 2 x 172
    // Smoothing did something: s is not all ones.
    const auto& s = stacked.at(p + "self_attn.qkv_proj");
    EXPECT_NE(*std::max_element(s.begin(), s.end()), *std::min_element(s.begin(), s.end()));
  }
}

TEST(PipelineStackedScales, MismatchedQkvVectorIsRefusedByName) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto dir = checkpoint::open_model_dir(migration_export(shared));
  const auto config = checkpoint::llama_config(dir);
  checkpoint::NamedTensors tensors;
  for (const auto& n : dir.checkpoint->tensor_names()) {
    at::Tensor t = dir.checkpoint->tensor(n);
    if (n == "model.layers.2.self_attn.k_proj.migration_scale") t[17] = t[17].item<float>() * 1.5f;
    tensors.push_back({n, t});
  }
  ScratchDir scratch;
  checkpoint::write_safetensors(scratch / "bad.safetensors", tensors);
  const auto bad = checkpoint::open_safetensors(scratch / "bad.safetensors");
  try {
    pipeline::load_stacked_migration_scales(*bad, config);
    FAIL() << "a mismatched k_proj migration scale was accepted";
  } catch (const checkpoint::CheckpointError& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.tensor(), "model.layers.2.self_attn.qkv_proj") << m;
    EXPECT_NE(m.find("k_proj"), std::string::npos) << m;
    EXPECT_NE(m.find("input channel 17"), std::string::npos) << m;
    EXPECT_NE(m.find("bad.safetensors"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace smoothcheck::testing
