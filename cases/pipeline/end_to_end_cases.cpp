// calibrate -> quantize -> reload -> verify on stories260K, one row per (layout, recipe, alpha, mode,
// format, weight variant); every row also proves the input directory was left byte-identical.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/llama_layout.h"
#include "harness/pipeline/verify.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

struct PipelineRow {
  const char* layout;
  Recipe recipe;
  float alpha;
  SmoothMode mode;
  pipeline::ExportContainer container;
  WeightQuant weights;

  std::string name() const {
    std::string a = std::to_string(static_cast<int>(alpha * 100 + 0.5f));
    std::string s = std::string(layout) + "_" + to_string(recipe) + "_a" + a + "_" + to_string(mode) + "_" +
                    pipeline::to_string(container) + "_" + to_string(weights);
    for (char& c : s)
      if (c == '-') c = '_';
    return s;
  }
};

const PipelineRow kRows[] = {
    {"hf", Recipe::lmdeploy, 0.5f, SmoothMode::fused, pipeline::ExportContainer::safetensors, WeightQuant::lmdeploy},
    {"hf", Recipe::smoothquant, 0.85f, SmoothMode::migration, pipeline::ExportContainer::bin, WeightQuant::lmdeploy},
    {"hf", Recipe::lmdeploy, 0.5f, SmoothMode::migration, pipeline::ExportContainer::safetensors,
     WeightQuant::compressed_tensors},
    {"llama2c", Recipe::llmcompressor, 0.5f, SmoothMode::migration, pipeline::ExportContainer::safetensors,
     WeightQuant::lmdeploy},
    {"llama2c", Recipe::smoothquant, 0.85f, SmoothMode::fused, pipeline::ExportContainer::bin, WeightQuant::smoothquant},
    {"hf-sharded-bin", Recipe::lmdeploy, 0.5f, SmoothMode::migration, pipeline::ExportContainer::bin,
     WeightQuant::lmdeploy},
    {"hf-sharded-bin", Recipe::smoothquant, 0.85f, SmoothMode::fused, pipeline::ExportContainer::safetensors,
     WeightQuant::lmdeploy},
    {"hf-sharded-bin", Recipe::llmcompressor, 0.5f, SmoothMode::fused, pipeline::ExportContainer::bin,
     WeightQuant::lmdeploy},
};

class PipelineEndToEnd : public ::testing::TestWithParam<PipelineRow> {};

TEST_P(PipelineEndToEnd, CalibrateQuantizeReloadVerify) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const PipelineRow& row = GetParam();
  const auto model = stories_layout(shared, row.layout);
  const Fingerprint before = fingerprint(model);
  const auto& stats = small_stats(shared, row.layout);

  ScratchDir scratch;
  pipeline::QuantizeOptions q;
  q.model = model;
  q.stats = stats;
  q.out = scratch / "export";
  q.recipe = row.recipe;
  q.alpha = row.alpha;
  q.mode = row.mode;
  q.container = row.container;
  q.weight_variant = row.weights;
  q.max_shard_bytes = 200000;  // several shards even for a 260K-parameter model
  const pipeline::ExportSummary s = pipeline::quantize_and_export(cpu_backend(), q);
  EXPECT_GT(s.shards.size(), 1u);
  EXPECT_EQ(s.total_size, static_cast<uint64_t>(s.expected_total_size));
  EXPECT_EQ(hidden_files(scratch.path()), std::vector<std::string>{}) << "a staging directory was left behind";

  pipeline::VerifyOptions v;
  v.original = model;
  v.quantized = q.out;
  v.tokens = 64;
  v.seed = 3;
  v.stats = stats;  // every exported migration_scale is recomputed from these by the float64 reference
  const pipeline::VerifyReport r = pipeline::verify_export(cpu_backend(), v);
  std::string failures;
  for (const auto& f : r.failures) failures += f + "\n";
  EXPECT_TRUE(r.passed()) << failures;
  EXPECT_TRUE(r.complete()) << "a check did not run";
  ASSERT_EQ(r.linears.size(), 35u);
  for (const auto& c : r.linears) {
    EXPECT_GE(c.migration_scale_error_u, 0.0) << c.name << ": migration scale not re-derived";
    EXPECT_GE(c.weight_scale_error_u, 0.0) << c.name << ": weight scales not re-derived";
    EXPECT_LE(c.max_error_over_bound, 1.0 + 1e-3) << c.name;
    // A bound that is never approached would mean the check compares nothing: rounding to int8 uses
    // most of its half-step somewhere in every linear.
    EXPECT_GT(c.max_error_over_bound, 0.5) << c.name;
  }
  EXPECT_EQ(r.declared_total_size, r.expected_total_size);
  EXPECT_GE(r.argmax_agreement, r.thresholds.min_argmax_agreement);
  EXPECT_GT(r.max_abs_logit_delta, 0.0) << "the W8A8 pass must differ from the float one somewhere";
  std::printf("[ metrics  ] %s: max err/bound %.4f, max|dlogit| %.4f, argmax %.1f%%, NLL %.4f -> %.4f\n",
              row.name().c_str(),
              std::max_element(r.linears.begin(), r.linears.end(),
                               [](const auto& a, const auto& b) { return a.max_error_over_bound < b.max_error_over_bound; })
                  ->max_error_over_bound,
              r.max_abs_logit_delta, 100 * r.argmax_agreement, r.nll_original, r.nll_quantized);

  EXPECT_EQ(fingerprint(model), before) << "the input directory was modified";
}

INSTANTIATE_TEST_SUITE_P(Stories260K, PipelineEndToEnd, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<PipelineRow>& i) { return i.param.name(); });

// The calibration file holds 7 linears x 5 statistics per layer, shared inputs with equal copies.
TEST(PipelineCalibration, StatisticsPerLinearWithSharedInputsEqual) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto model = stories_layout(shared, "hf");
  const auto config = checkpoint::llama_config(checkpoint::open_model_dir(model));
  const pipeline::CalibrationStats s = pipeline::read_calibration_stats(small_stats(shared, "hf"), config);
  ASSERT_EQ(s.linears.size(), 35u);
  for (int l = 0; l < 5; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto& q = s.linears.at(p + "self_attn.q_proj");
    EXPECT_EQ(q.absmax, s.linears.at(p + "self_attn.k_proj").absmax);
    EXPECT_EQ(q.mean, s.linears.at(p + "self_attn.v_proj").mean);
    EXPECT_EQ(s.linears.at(p + "mlp.gate_proj").min, s.linears.at(p + "mlp.up_proj").min);
    EXPECT_EQ(s.linears.at(p + "mlp.down_proj").absmax.size(), 172u);
    for (std::size_t j = 0; j < q.absmax.size(); ++j) {
      EXPECT_GE(q.absmean[j], std::fabs(q.mean[j]) * (1 - 1e-6f));
      EXPECT_LE(q.absmean[j], q.absmax[j]);
      EXPECT_GT(q.absmax[j], 0.0f);
    }
  }
}

}  // namespace
}  // namespace smoothcheck::testing
