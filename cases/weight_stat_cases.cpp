// The weight statistic w_j over the fcs that share one input (numerics.md §2), for every recipe.
#include <cmath>

#include "cases/case_tables.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

struct WeightStatCase final : Case {
  const std::vector<int64_t> out_features;  // one entry per fc (q/k/v: three, gate/up: two)
  const int64_t in_features, pad, group_size;
  const DType dtype;
  const Distribution distribution;
  const Recipe recipe;
  // Every other row scaled by 2^-20: row absmaxes of a few 1e-6, below lmdeploy's 1e-4 clamp. lmdeploy's
  // awq.py get_weight_scale clamps every absmax to 1e-4 only when the smallest is exactly 0 (numerics.md
  // §2), so without a zero row no tiny row is clamped ...
  const bool tiny_rows;
  // ... and with one (row 0 of the first fc zeroed, or only its first group when group_size > 0) every
  // one is: these rows tell the all-or-nothing rule from "always clamp" and from "clamp the zero ones".
  const bool zero_row;
  const uint64_t case_seed;
  // Every step in the weights' own bf16/f16 dtype (SmoothingArithmetic::model_dtype), measured against the
  // reference's step-by-step model (reference::weight_stat_stepwise); otherwise f32 and the ideal.
  const bool in_weight_dtype;

  WeightStatCase(std::vector<int64_t> o, int64_t i, int64_t p, int64_t g, DType d, Distribution dist, Recipe rec, uint64_t s,
                 bool tiny = false, bool zero = false, bool in_dtype = false)
      : out_features(std::move(o)), in_features(i), pad(p), group_size(g), dtype(d), distribution(dist), recipe(rec),
        tiny_rows(tiny), zero_row(zero), case_seed(s), in_weight_dtype(in_dtype) {}

  std::string name() const override {
    std::string fcs = "o";
    for (std::size_t i = 0; i < out_features.size(); ++i) fcs += (i ? "+" : "") + std::to_string(out_features[i]);
    return fcs + "_i" + std::to_string(in_features) + (pad ? "_pad" + std::to_string(pad) : "") + "/" +
           to_string(dtype) + "/" + to_string(distribution) + "/" + to_string(recipe) +
           (group_size ? "/group" + std::to_string(group_size) : "") + (tiny_rows ? "/tinyrows" : "") +
           (zero_row ? (group_size ? "/zerogroup" : "/zerorow") : "") + (in_weight_dtype ? "/in_dtype" : "") + "/" +
           seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override {
    int64_t rows = 0;
    for (int64_t o : out_features) rows += o;
    return rows * in_features;
  }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    std::vector<kernels::ConstMatrix> views;
    std::vector<reference::Matrix> ref_fcs;
    int64_t total_rows = 0;
    for (std::size_t f = 0; f < out_features.size(); ++f) {
      std::vector<double> values = generate_matrix(out_features[f], in_features, distribution,
                                                   derive_seed(case_seed, "w" + std::to_string(f)), dtype);
      if (tiny_rows)
        for (int64_t row = 1; row < out_features[f]; row += 2)
          for (int64_t j = 0; j < in_features; ++j) values[std::size_t(row * in_features + j)] *= std::ldexp(1.0, -20);
      if (zero_row && f == 0)
        for (int64_t j = 0; j < (group_size ? group_size : in_features); ++j) values[std::size_t(j)] = 0.0;
      const HostTensor& fc =
          tensors.input_matrix("fc" + std::to_string(f), dtype, out_features[f], in_features, pad, values);
      views.push_back(fc.matrix());
      ref_fcs.push_back(to_reference(fc));
      total_rows += out_features[f];
    }
    HostTensor& w = tensors.output_vector("w", DType::f32, in_features, ZeroOutput::fails);
    const DType arithmetic = in_weight_dtype ? dtype : DType::f32;
    if (!tensors.run_kernel([&] {
          backend.weight_stat(views.data(), int(views.size()), recipe, group_size, w.f32(), arithmetic);
        }))
      return;
    const std::vector<double> actual = w.to_doubles();
    if (in_weight_dtype) {
      // The same roundings on both sides; lmdeploy's mean is a sum of values of the dtype, whose float32
      // order (the kernels': float64) can move the rounded mean by one ulp of the dtype.
      reference::Vector expected = reference::weight_stat_stepwise(ref_fcs, recipe, group_size, dtype);
      const double rel = recipe == Recipe::lmdeploy ? 2 * unit_roundoff(dtype) : 0.0;
      compare_within_bound(r, "w", actual, expected, in_features, [&](std::size_t j) { return rel * std::fabs(expected[j]); });
      for (std::size_t j = 0; j < actual.size(); ++j)
        if (reference::round_to_dtype(actual[j], dtype) != actual[j]) {
          r.fail("dtype", "w[" + std::to_string(j) + "] = " + std::to_string(actual[j]) + " is not a value of " + to_string(dtype));
          break;
        }
      r.keep("expected_w", {in_features}, std::move(expected));
      return;
    }
    reference::Vector expected = reference::weight_stat(ref_fcs, recipe, group_size);
    // smoothquant and llmcompressor select a maximum (and double it): one rounding at most, for the
    // 1e-5 floor's own f32 rounding. lmdeploy averages total_rows ratios, each one division: a sum of
    // positive terms, within gamma_rows, plus the division and the mean.
    const double u = unit_roundoff(DType::f32);
    const double rel = recipe == Recipe::lmdeploy ? (double(total_rows) + 3) * u : 2 * u;
    compare_within_bound(r, "w", actual, expected, in_features, [&](std::size_t j) { return rel * std::fabs(expected[j]); });
    r.keep("expected_w", {in_features}, std::move(expected));
  }
};

CaseList weight_stat_table() {
  CaseList cases;
  auto add = [&](std::vector<int64_t> o, int64_t i, int64_t pad, int64_t g, DType d, Distribution dist, Recipe rec,
                 uint64_t seed, bool tiny_rows = false, bool zero_row = false) {
    cases.push_back(std::make_unique<WeightStatCase>(std::move(o), i, pad, g, d, dist, rec, seed, tiny_rows, zero_row));
  };
  const Recipe recipes[] = {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor};
  for (int64_t c : hidden_sizes())
    for (Recipe rec : recipes) add({c >= 4096 ? 8 : 24}, c, c % 2 ? 1 : 0, 0, DType::f16, Distribution::outlier_channels, rec, 1);
  for (Distribution dist : all_distributions())
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (Recipe rec : recipes) add({64, 32, 32}, 1025, 3, 0, d, dist, rec, 2);  // q, k, v under GQA
  // lmdeploy's group_size reshapes rows into groups of channels before normalising.
  for (int64_t g : {32, 128}) add({48, 16}, 1024, 0, g, DType::bf16, Distribution::normal, Recipe::lmdeploy, 3);
  for (Recipe rec : recipes) add({16, 8}, 257, 1, 0, DType::f32, Distribution::normal, rec, 5, /*tiny_rows=*/true);
  // lmdeploy's all-or-nothing absmax clamp: tiny rows with and without a zero row (group), whole rows and groups.
  for (DType d : {DType::f32, DType::bf16})
    for (int64_t g : {0, 32})
      for (bool zero : {false, true})
        add({16, 8}, 256, 1, g, d, Distribution::normal, Recipe::lmdeploy, 6, /*tiny_rows=*/true, zero);
  add({4096, 4096, 4096}, 4096, 0, 0, DType::f16, Distribution::normal, Recipe::lmdeploy, 4);  // LLaMA-2-7B q/k/v
  // In the weights' own dtype, as the public tools compute on a bf16/f16 model.
  for (DType d : {DType::f16, DType::bf16})
    for (Recipe rec : recipes) {
      for (Distribution dist : {Distribution::normal, Distribution::outlier_channels})
        cases.push_back(std::make_unique<WeightStatCase>(std::vector<int64_t>{64, 32, 32}, 1025, 3, 0, d, dist, rec, 7,
                                                         false, false, /*in_dtype=*/true));
      if (rec == Recipe::lmdeploy)
        for (int64_t g : {0, 32})
          cases.push_back(std::make_unique<WeightStatCase>(std::vector<int64_t>{16, 8}, 256, 1, g, d, Distribution::normal,
                                                           rec, 8, /*tiny=*/d == DType::bf16, /*zero=*/true, true));
    }
  return cases;
}

const CaseTableRegistration weight_stat_registration{"weight_stat", weight_stat_table};

}  // namespace
}  // namespace smoothcheck::cases
