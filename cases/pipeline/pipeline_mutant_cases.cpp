// Wiring mutants of the pipeline (issue 12): each is what a realistic bug in calibrate or quantize
// would write, produced with the production code and one wrong piece, and each must be caught by the
// check that exists for it:
//  - calibrate's statistics recomputed from a float64 forward over the same sampled sequences with the
//    reference's running rules: a calibration that drops a sequence but reports the full count fails;
//  - verify's migration_scale re-derivation: an lmdeploy export smoothed by max − min instead of
//    absmax, and one whose stacked weight statistic saw only the first fc of q/k/v, fail naming it.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"
#include "harness/pipeline/calibrate.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/token_sampling.h"
#include "harness/pipeline/verify.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "pipeline_test_support.h"
#include "reference/reference.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSamples = 4, kSeqLen = 32;
constexpr uint64_t kSeed = 7;

// A statistics file's five vectors against the reference's, per linear: absmax, min and max within
// the f32 forward's error of the float64 one, mean and absmean likewise in units of the channel's
// absmax; plus the counts the file reports. Returns the mismatches, one line each.
std::vector<std::string> mismatches_with_reference_calibration(const fs::path& shared,
                                                               const pipeline::CalibrationStats& got) {
  const checkpoint::ModelDir m = checkpoint::open_model_dir(stories_layout(shared, "hf"));
  const checkpoint::LlamaConfig config = checkpoint::llama_config(m);
  // The sequences calibrate samples: the f32 model's own text from BOS (token_sampling.h defines them).
  const models::LlamaModel f32_model(*m.checkpoint, config, DType::f32);
  pipeline::SamplingOptions so;
  so.sequences = kSamples;
  so.length = kSeqLen;
  so.seed = kSeed;
  const auto sequences = pipeline::sample_sequences(f32_model, so);

  const models::LlamaModel reference_model(*m.checkpoint, config, DType::f64);
  std::map<std::string, reference::ActivationStatsAccumulator> want;
  models::LlamaHooks hooks;
  hooks.on_linear_input = [&](const std::string& name, const at::Tensor& x) {
    if (name == "lm_head") return;
    const at::Tensor rows = x.reshape({-1, x.size(-1)}).to(at::kDouble).contiguous();
    reference::Matrix batch(rows.size(0), rows.size(1));
    std::copy(rows.data_ptr<double>(), rows.data_ptr<double>() + rows.numel(), batch.values.begin());
    want[name].update(batch);  // one sequence, one batch (lmdeploy: one window, one batch)
  };
  for (const auto& seq : sequences) reference_model.forward(at::tensor(seq, at::kLong).view({1, kSeqLen}), hooks);

  std::vector<std::string> out;
  const auto count = [&](const char* key) {
    const auto it = got.metadata.find(key);
    if (it == got.metadata.end() || it->second != std::to_string(kSamples))
      out.push_back(std::string("metadata ") + key + " is " + (it == got.metadata.end() ? "absent" : it->second) +
                    ", the reference ran " + std::to_string(kSamples) + " sequences");
  };
  count("samples");
  count("batches_per_linear");
  // f32 against float64 through five small layers: relative 1e-6 measured; 1e-4 of the channel's absmax
  // leaves room, while one sequence fewer moves a mean by about (its mean − the mean) / 4.
  constexpr double kTolerance = 1e-4;
  for (const auto& entry : want) {
    const std::string& name = entry.first;  // named, not a structured binding: lambdas below capture it
    const reference::ActivationStatsAccumulator& acc = entry.second;
    const auto it = got.linears.find(name);
    if (it == got.linears.end()) {
      out.push_back(name + ": absent from the statistics");
      continue;
    }
    const pipeline::LinearStats& s = it->second;
    const auto compare = [&](const char* stat, const std::vector<float>& a, const reference::Vector& b) {
      for (std::size_t j = 0; j < b.size(); ++j)
        if (!(std::fabs(a[j] - b[j]) <= kTolerance * acc.absmax()[j] + 1e-30)) {
          out.push_back(name + "." + stat + "[" + std::to_string(j) + "] = " + std::to_string(a[j]) +
                        ", the reference gives " + std::to_string(b[j]));
          return;
        }
    };
    compare("absmax", s.absmax, acc.absmax());
    compare("min", s.min, acc.min());
    compare("max", s.max, acc.max());
    compare("mean", s.mean, acc.mean());
    compare("absmean", s.absmean, acc.absmean());
  }
  return out;
}

pipeline::CalibrationStats run_calibrate(const fs::path& shared, int64_t samples) {
  const checkpoint::ModelDir m = checkpoint::open_model_dir(stories_layout(shared, "hf"));
  pipeline::CalibrationOptions o;
  o.samples = samples;
  o.seq_len = kSeqLen;
  o.seed = kSeed;
  return pipeline::calibrate(*m.checkpoint, checkpoint::llama_config(m), cpu_backend(), o);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += "  " + l + "\n";
  return s;
}

TEST(CalibrationRederived, MatchesTheReferenceForwardOverTheSameSequences) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto problems = mismatches_with_reference_calibration(shared, run_calibrate(shared, kSamples));
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

// Mutant: the calibration runs one sequence fewer than it reports.
TEST(PipelineMutant, CalibrationDroppingASequenceIsCaught) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  pipeline::CalibrationStats dropped = run_calibrate(shared, kSamples - 1);
  dropped.metadata["samples"] = dropped.metadata["batches_per_linear"] = std::to_string(kSamples);
  const auto problems = mismatches_with_reference_calibration(shared, dropped);
  bool mean_caught = false;
  for (const std::string& p : problems) mean_caught = mean_caught || p.find(".mean[") != std::string::npos;
  EXPECT_TRUE(mean_caught) << "the dropped sequence went unnoticed:\n" << joined(problems);
}

// A CPU backend whose stacked weight statistic reads only the group's first fc (q_proj for q/k/v).
struct FirstFcOnlyWeightStat final : kernels::CpuBackend {
  void weight_stat(const kernels::ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override {
    (void)fc_count;
    CpuBackend::weight_stat(fcs, 1, recipe, group_size, w, arithmetic);
  }
};

pipeline::VerifyReport quantize_and_verify(const fs::path& shared, kernels::Backend& backend, const fs::path& stats_used,
                                           Recipe recipe, const std::string& name) {
  pipeline::QuantizeOptions q;
  q.model = stories_layout(shared, "hf");
  q.stats = stats_used;
  q.out = process_scratch() / ("mutant-" + name);
  q.mode = SmoothMode::migration;
  q.recipe = recipe;
  q.alpha = 0.5f;
  fs::remove_all(q.out);
  pipeline::quantize_and_export(backend, q);
  pipeline::VerifyOptions v;
  v.original = q.model;
  v.quantized = q.out;
  v.stats = small_stats(shared, "hf");  // the statistics the export claims to come from
  v.forward = false;
  return pipeline::verify_export(cpu_backend(), v);
}

bool has_failure(const pipeline::VerifyReport& r, const std::string& check, const std::string& linear) {
  for (const std::string& f : r.failures)
    if (f.rfind(check + ": ", 0) == 0 && f.find(linear) != std::string::npos) return true;
  return false;
}

std::string failures_of(const pipeline::VerifyReport& r) { return joined(r.failures); }

TEST(PipelineMutant, StackedWeightStatisticOverOneFcIsCaught) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  FirstFcOnlyWeightStat mutant;
  const auto r = quantize_and_verify(shared, mutant, small_stats(shared, "hf"), Recipe::smoothquant, "first-fc");
  EXPECT_TRUE(has_failure(r, "migration_scale", "model.layers.0.self_attn.q_proj")) << failures_of(r);
  EXPECT_TRUE(has_failure(r, "migration_scale", "model.layers.0.mlp.gate_proj")) << failures_of(r);
}

// The lmdeploy recipe fed the range max − min where it takes absmax (llm-compressor's statistic).
TEST(PipelineMutant, LmdeployRecipeOnTheRangeIsCaught) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  pipeline::CalibrationStats stats = run_calibrate(shared, kSamples);
  for (auto& [name, s] : stats.linears)
    for (std::size_t j = 0; j < s.absmax.size(); ++j) s.absmax[j] = s.max[j] - s.min[j];
  const fs::path wrong = process_scratch() / "stats-range-as-absmax.safetensors";
  pipeline::write_calibration_stats(wrong, stats);
  const auto r = quantize_and_verify(shared, cpu_backend(), wrong, Recipe::lmdeploy, "range-statistic");
  EXPECT_TRUE(has_failure(r, "migration_scale", "model.layers.0.self_attn.q_proj")) << failures_of(r);
}

// The honest counterpart of the two above: the same production path with the right pieces passes.
TEST(PipelineMutant, HonestCounterpartPasses) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto r = quantize_and_verify(shared, cpu_backend(), small_stats(shared, "hf"), Recipe::smoothquant, "honest");
  EXPECT_TRUE(r.passed()) << failures_of(r);
}

}  // namespace
}  // namespace smoothcheck::testing
