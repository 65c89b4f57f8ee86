// Calibration statistics per input channel (numerics.md §1), one batch and streamed across batches.
#include <cmath>

#include "cases/case_tables.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"
#include "kernels/running_channel_stats.h"

namespace smoothcheck::cases {
namespace {

std::vector<double> as_doubles(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

struct ChannelStatsCase final : Case {
  const int64_t tokens, hidden, pad;
  const int batches;
  const DType dtype;
  const Distribution distribution;
  const uint64_t case_seed;

  ChannelStatsCase(int64_t t, int64_t c, int64_t p, int b, DType d, Distribution dist, uint64_t s)
      : tokens(t), hidden(c), pad(p), batches(b), dtype(d), distribution(dist), case_seed(s) {}

  std::string name() const override {
    return shape_name("t", tokens, "c", hidden, pad) + "/batches" + std::to_string(batches) + "/" + to_string(dtype) +
           "/" + to_string(distribution) + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return tokens * hidden; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    kernels::RunningChannelStats running(hidden);
    reference::ActivationStatsAccumulator expected;
    std::vector<double> batch_abs_mean(std::size_t(hidden), 0.0);  // mean over batches of |mean_b|, per channel
    for (int b = 0; b < batches; ++b) {
      std::vector<double> x_values =
          generate_matrix(tokens, hidden, distribution, derive_seed(case_seed, "x" + std::to_string(b)), dtype);
      const HostTensor& x = tensors.input_matrix("x" + std::to_string(b), dtype, tokens, hidden, pad, x_values);
      if (!tensors.run_kernel([&] { running.update(backend, x.matrix()); })) return;
      reference::Matrix x_ref = to_reference(x);
      expected.update(x_ref);
      const reference::BatchChannelStats batch = reference::channel_stats(x_ref);
      for (int64_t j = 0; j < hidden; ++j)
        batch_abs_mean[std::size_t(j)] += std::fabs(batch.sum[std::size_t(j)]) / double(tokens) / double(batches);
      if (b == 0 && !may_be_all_zero(distribution, tokens)) check_not_all_zero(r, "x", x_ref.values);
    }
    // absmax, min and max select an input value: exact. The statistics live in RunningChannelStats, not in
    // tensors the runner allocates, so their zero check (and the input's, above) is the case's own.
    compare_exact(r, "absmax", as_doubles(running.absmax()), expected.absmax(), hidden);
    if (!may_be_all_zero(distribution, tokens)) check_not_all_zero(r, "absmax", as_doubles(running.absmax()));
    compare_exact(r, "min", as_doubles(running.min()), expected.min(), hidden);
    compare_exact(r, "max", as_doubles(running.max()), expected.max(), hidden);
    // numerics.md §1 and the CPU kernel (kernels/cpu/channel_stats.cpp) sum in float64: a sum of T terms is
    // within gamma_T(f64) * sum |x| (numerics.md §8), negligible next to the f32 roundings that follow: the
    // batch sum rounded to f32 (u of |sum_b| per batch, so u of the mean of |mean_b| over batches), and the
    // final mean rounded to f32 (u of |mean|); the float64 divisions and the running mean add a few u64.
    // A kernel summing in f32 adds up to gamma_T(f32) * sum |x|, far above this for the T >= 64 rows.
    const double u = unit_roundoff(DType::f32), u64 = unit_roundoff(DType::f64);
    const double gamma64 = double(tokens) * u64 / (1.0 - double(tokens) * u64);
    std::vector<double> absmean = expected.absmean();
    const std::vector<double> mean = expected.mean();
    auto mean_bound = [&](std::size_t j) {
      return (2 * gamma64 + 8 * u64) * absmean[j] + u * batch_abs_mean[j] + u * std::fabs(mean[j]) + 1e-300;
    };
    auto absmean_bound = [&](std::size_t j) { return (2 * gamma64 + 8 * u64 + 2 * u) * absmean[j] + 1e-300; };
    compare_within_bound(r, "mean", as_doubles(running.mean()), expected.mean(), hidden, mean_bound);
    compare_within_bound(r, "absmean", as_doubles(running.absmean()), absmean, hidden, absmean_bound);
    r.keep("expected_absmax", {hidden}, expected.absmax());
    r.keep("actual_absmax", {hidden}, as_doubles(running.absmax()));
    r.keep("expected_mean", {hidden}, expected.mean());
    r.keep("actual_mean", {hidden}, as_doubles(running.mean()));
  }
};

CaseList channel_stats_table() {
  CaseList cases;
  auto add = [&](int64_t t, int64_t c, int64_t pad, int b, DType d, Distribution dist, uint64_t seed) {
    cases.push_back(std::make_unique<ChannelStatsCase>(t, c, pad, b, d, dist, seed));
  };
  for (int64_t c : hidden_sizes())
    for (DType d : {DType::f32, DType::f16, DType::bf16}) add(33, c, c % 2 ? 3 : 0, 2, d, Distribution::outlier_channels, 1);
  for (Distribution dist : all_distributions())
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (int64_t t : {1, 7, 64}) add(t, 1025, 1, 3, d, dist, 2);
  // lmdeploy's calibration window is 2048 tokens; one LLaMA-2-7B-sized batch of each width.
  add(2048, 4096, 0, 2, DType::bf16, Distribution::outlier_channels, 3);
  add(512, 11008, 0, 1, DType::f16, Distribution::heavy_tail, 3);
  return cases;
}

const CaseTableRegistration channel_stats_registration{"channel_stats", channel_stats_table};

}  // namespace
}  // namespace smoothcheck::cases
