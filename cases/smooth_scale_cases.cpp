// The smoothing scale s from the activation and weight statistics (numerics.md §3), every recipe and alpha.
#include <cmath>
#include <random>

#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

struct SmoothScaleCase final : Case {
  const int64_t channels;
  const Recipe recipe;
  const double alpha;
  const bool zero_channels;  // some activation statistics, weight statistics and norm weights are 0
  // Every 7th w with w^(1-alpha) = 1e-5, in (0, 1e-4): lmdeploy's awq.py clamps every w^(1-alpha) to 1e-4
  // only when the smallest is exactly 0 (numerics.md §3), so these stay 1e-5 unless zero_channels.
  const bool tiny_w;
  const uint64_t case_seed;
  // f32, or the bf16/f16 dtype every step is rounded to (a model of that dtype, SmoothingArithmetic::
  // model_dtype): then the inputs are values of it and the expectation is the reference's step-by-step
  // model of the public tools' roundings (reference::smooth_scale_stepwise).
  const DType arithmetic;

  SmoothScaleCase(int64_t c, Recipe rec, double a, bool z, uint64_t s, bool tiny = false, DType arith = DType::f32)
      : channels(c), recipe(rec), alpha(a), zero_channels(z), tiny_w(tiny), case_seed(s), arithmetic(arith) {}

  std::string name() const override {
    return "c" + std::to_string(channels) + "/" + to_string(recipe) + "/alpha" + std::to_string(int(alpha * 100)) +
           "pct" + (zero_channels ? "/zeros" : "") + (tiny_w ? "/tinyw" : "") +
           (arithmetic != DType::f32 ? std::string("/in_") + to_string(arithmetic) : "") + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return channels; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    // Activation statistic: absmax of outlier-channel activations; weight statistic: positive, and in
    // (0, 1] for lmdeploy's normalised rows.
    std::vector<double> a = generate_matrix(1, channels, Distribution::outlier_channels, derive_seed(case_seed, "a"), DType::f32);
    std::vector<double> w = generate_positive_scales(channels, derive_seed(case_seed, "w"), false);
    std::vector<double> norm = generate_matrix(1, channels, Distribution::normal, derive_seed(case_seed, "norm"), DType::f32);
    for (double& v : a) v = std::fabs(v);
    if (recipe == Recipe::lmdeploy)
      for (double& v : w) v = double(float(v / 16.0));
    if (tiny_w)
      for (int64_t j = 3; j < channels; j += 7) w[std::size_t(j)] = double(float(std::pow(1e-5, 1.0 / (1.0 - alpha))));
    if (zero_channels)
      for (int64_t j = 0; j < channels; j += 5) {
        a[std::size_t(j)] = (j % 10 == 0) ? 0.0 : a[std::size_t(j)];
        // A zero weight statistic exists only where the recipe defines it: lmdeploy clamps w^(1-alpha),
        // llm-compressor falls back to s = range; the authors' w is floored at 1e-5 and never 0.
        if (recipe != Recipe::smoothquant && j % 15 == 0) w[std::size_t(j)] = 0.0;
        norm[std::size_t(j)] = 0.0;
      }
    for (std::vector<double>* v : {&a, &w, &norm})
      for (double& x : *v) x = reference::round_to_dtype(x, arithmetic);  // values of the model's dtype
    const bool with_norm = recipe == Recipe::lmdeploy;
    const float* a_in = tensors.input_vector("a", DType::f32, a).f32();
    const float* w_in = tensors.input_vector("w", DType::f32, w).f32();
    const float* norm_in = with_norm ? tensors.input_vector("norm_weight", DType::f32, norm).f32() : nullptr;
    // s > 0 is checked below for every channel, which an all-zero s fails already.
    HostTensor& s = tensors.output_vector("s", DType::f32, channels, ZeroOutput::allowed);
    if (!tensors.run_kernel([&] {
          backend.smooth_scale(a_in, w_in, norm_in, channels, recipe, float(alpha), s.f32(), arithmetic);
        }))
      return;
    const reference::Vector no_norm;
    reference::Vector expected =
        arithmetic == DType::f32
            ? reference::smooth_scale(a, w, with_norm ? norm : no_norm, recipe, alpha)
            : reference::smooth_scale_stepwise(a, w, with_norm ? norm : no_norm, recipe, float(alpha), arithmetic);
    const std::vector<double> actual = s.to_doubles();
    if (arithmetic == DType::f32) {
      // f32 powf (< 1 ulp each), the quotient and the floors; lmdeploy adds the max*min product, its square
      // root and the division: 16u covers both with room for powf's last-bit differences between libms.
      const double u = unit_roundoff(DType::f32);
      compare_within_bound(r, "s", actual, expected, channels, [&](std::size_t j) { return 16 * u * std::fabs(expected[j]); });
    } else {
      // The same roundings on both sides; a libm's powf may differ from the correctly rounded pow by an f32
      // ulp, which the rounding to the dtype almost always absorbs: one ulp of the dtype (2u relative).
      const double u = unit_roundoff(arithmetic);
      compare_within_bound(r, "s", actual, expected, channels, [&](std::size_t j) { return 2 * u * std::fabs(expected[j]); });
      for (std::size_t j = 0; j < actual.size(); ++j)
        if (reference::round_to_dtype(actual[j], arithmetic) != actual[j] && actual[j] != double(1e-5f)) {
          r.fail("dtype", "s[" + std::to_string(j) + "] = " + std::to_string(actual[j]) + " is not a value of " +
                              to_string(arithmetic) + " (only llm-compressor's float32 floor 1e-5 may be)");
          break;
        }
    }
    for (std::size_t j = 0; j < actual.size(); ++j)
      if (!(actual[j] > 0)) {
        r.fail("positive", "s[" + std::to_string(j) + "] = " + std::to_string(actual[j]) + " is not positive");
        break;
      }
    r.keep("expected_s", {channels}, std::move(expected));
  }
};

CaseList smooth_scale_table() {
  CaseList cases;
  for (Recipe rec : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    for (double alpha : {0.0, 0.5, 0.85, 1.0})
      for (bool zeros : {false, true})
        for (int64_t c : {int64_t(1), int64_t(17), int64_t(4096), int64_t(11008)})
          cases.push_back(std::make_unique<SmoothScaleCase>(c, rec, alpha, zeros && c > 1, 1));
  // lmdeploy's all-or-nothing clamp of w^(1-alpha): tiny w' beside a zero w' (clamped) and without one (not).
  // alpha exact in f32: the kernels take float(alpha), and w' of a w near 1e-20 moves by |ln w| * that rounding.
  for (double alpha : {0.0, 0.5, 0.75})
    for (bool zeros : {false, true})
      for (int64_t c : {int64_t(17), int64_t(4096)})
        cases.push_back(std::make_unique<SmoothScaleCase>(c, Recipe::lmdeploy, alpha, zeros, 2, /*tiny_w=*/true));
  // In a bf16/f16 model's dtype, every recipe.
  for (DType arithmetic : {DType::f16, DType::bf16})
    for (Recipe rec : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
      for (double alpha : {0.5, 0.85})
        for (bool zeros : {false, true})
          for (int64_t c : {int64_t(17), int64_t(4096)})
            cases.push_back(std::make_unique<SmoothScaleCase>(c, rec, alpha, zeros, 3, false, arithmetic));
  return cases;
}

const CaseTableRegistration smooth_scale_registration{"smooth_scale", smooth_scale_table};

}  // namespace
}  // namespace smoothcheck::cases
