// Fused RMSNorm + per-token int8 quantisation (numerics.md §6, lmdeploy rms_norm_dynamic_quant):
// f32 variance, y = w * x_hat rounded to the activation dtype, then per-token quantisation of y.
#include <algorithm>
#include <cmath>

#include "cases/case_tables.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/exact_input_generators.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

struct RmsnormQuantizeCase final : Case {
  const int64_t tokens, hidden, pad;
  const DType dtype;
  const Distribution distribution;
  const NamedActOptions options;
  const double eps;
  const uint64_t case_seed;
  // ScaleMath rows (eps 0): exact RMSNorm rows whose values sit where divide and reciprocal-multiply give
  // different codes (harness/differential/exact_input_generators.h, rmsnorm_scale_math_rows).
  const bool scale_math_split;

  RmsnormQuantizeCase(int64_t t, int64_t c, int64_t p, DType d, Distribution dist, NamedActOptions o, double e,
                      uint64_t s, bool split = false)
      : tokens(t), hidden(c), pad(p), dtype(d), distribution(dist), options(std::move(o)), eps(e), case_seed(s),
        scale_math_split(split) {}

  std::string name() const override {
    return shape_name("t", tokens, "c", hidden, pad) + "/" + to_string(dtype) + "/" +
           (scale_math_split ? "scale_math_split" : to_string(distribution)) + "/" +
           options.name + "/eps" + (eps == 0.0 ? "0" : eps == 1e-5 ? "1e-5" : "1e-6") + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return tokens * hidden; }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    // Tie rows (midpoints with eps 0): RMSNorm is exact in f32 (harness/differential/exact_input_generators.h) with norm
    // weight 1, so y / scale lands exactly on k + 0.5 and the rounding rule alone decides those codes.
    const bool ties = distribution == Distribution::midpoints && eps == 0.0 && !scale_math_split;
    std::vector<double> x_values =
        scale_math_split ? rmsnorm_scale_math_rows(tokens, hidden, derive_seed(case_seed, "x"), dtype)
        : ties           ? rmsnorm_tie_rows(tokens, hidden, derive_seed(case_seed, "x"), dtype)
                         : generate_matrix(tokens, hidden, distribution, derive_seed(case_seed, "x"), dtype);
    std::vector<double> w_values = generate_matrix(1, hidden, Distribution::normal, derive_seed(case_seed, "w"), dtype);
    for (double& w : w_values) w = ties || scale_math_split ? 1.0 : representable(1.0 + 0.25 * w, dtype);
    const HostTensor& x = tensors.input_matrix("x", dtype, tokens, hidden, pad, x_values);
    const HostTensor& w = tensors.input_vector("norm_weight", dtype, w_values);
    const ZeroOutput zero_codes = may_be_all_zero(distribution, tokens) ? ZeroOutput::allowed : ZeroOutput::fails;
    HostTensor& q = tensors.output_matrix("q", DType::i8, tokens, hidden, pad, zero_codes);
    HostTensor& scale = tensors.output_vector("scale", DType::f32, tokens, ZeroOutput::allowed);
    if (!tensors.run_kernel([&] {
          backend.rmsnorm_quantize(x.matrix(), w.const_vector(), float(eps), options.options, q.mut_matrix(),
                                   scale.f32());
        }))
      return;

    if (scale_math_split) {
      // y is exact in f32 here, so the kernel's scale and codes are those of the named f32 formula applied
      // to the exact y (reference::quantize_per_token_f32): bit-exact scale, codes with zero allowance.
      const reference::Quantized y = reference::rmsnorm_quantize(to_reference(x), w_values, eps, dtype, options.options);
      reference::Quantized f32 = reference::quantize_per_token_f32(y.input, options.options);
      compare_exact(r, "scale", scale.to_doubles(), f32.scale, tokens);
      compare_codes(r, "q", q.to_doubles(), f32.codes.values, f32.scaled.values, hidden,
                    CodeRule{options.options.rounding, options.options.clamp, false}, [](std::size_t) { return 0.0; });
      r.keep("expected_q", {tokens, hidden}, std::move(f32.codes.values));
      return;
    }
    // y in exact arithmetic, before the cast to the activation dtype.
    reference::Quantized exact = reference::rmsnorm_quantize(to_reference(x), w_values, eps, DType::f64, options.options);
    reference::Quantized ref = reference::rmsnorm_quantize(to_reference(x), w_values, eps, dtype, options.options);

    // The kernel's f32 y has relative error at most delta: the canonical sum of squares (C/32 fma steps per
    // lane and a 5-level tree), mean, +eps, sqrt, division (half of it through the square root), then
    // x * inv and w * (.). Its cast may therefore land on either dtype neighbour of y within delta.
    const double u = unit_roundoff(DType::f32);
    const double delta = ties ? 0.0 : (double(hidden) / 64.0 + 8.0) * u;
    std::vector<double> y_low(exact.input.values.size()), y_high(exact.input.values.size());
    for (std::size_t i = 0; i < y_low.size(); ++i) {
      double y = exact.input.values[i];
      double a = reference::round_to_dtype(y * (1 - delta), dtype), b = reference::round_to_dtype(y * (1 + delta), dtype);
      y_low[i] = std::min(a, b);
      y_high[i] = std::max(a, b);
    }
    const std::vector<double> actual_scale = scale.to_doubles(), actual_codes = q.to_doubles();
    // The scale is max |y| / 127 over the row (after the zero-row rule), rounded once.
    std::vector<double> scale_mid(static_cast<std::size_t>(tokens)), scale_slack(static_cast<std::size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) {
      double lo = 0.0, hi = 0.0;
      for (int64_t c = 0; c < hidden; ++c) {
        std::size_t i = std::size_t(t * hidden + c);
        lo = std::max(lo, std::min(std::fabs(y_low[i]), std::fabs(y_high[i])));
        hi = std::max(hi, std::max(std::fabs(y_low[i]), std::fabs(y_high[i])));
      }
      if (options.options.zero_row == ZeroRow::floor) {
        lo = std::max(lo, double(options.options.absmax_floor));
        hi = std::max(hi, double(options.options.absmax_floor));
      }
      scale_mid[std::size_t(t)] = (lo + hi) / 2 / 127.0;
      scale_slack[std::size_t(t)] = (hi - lo) / 2 / 127.0 + (ties ? 0.0 : u * hi / 127.0);  // ties: 2^-J, exact
    }
    compare_within_bound(r, "scale", actual_scale, scale_mid, tokens,
                         [&](std::size_t t) { return scale_slack[t]; });

    // Codes against the kernel's own scale (checked just above): v = y / scale over the interval of y.
    std::vector<double> v_mid(y_low.size()), v_slack(y_low.size()), center_codes(y_low.size());
    const CodeRule rule{options.options.rounding, options.options.clamp, false};
    for (int64_t t = 0; t < tokens; ++t) {
      double s = actual_scale[std::size_t(t)];
      for (int64_t c = 0; c < hidden; ++c) {
        std::size_t i = std::size_t(t * hidden + c);
        if (!(s > 0)) { v_mid[i] = 0; v_slack[i] = 0; center_codes[i] = 0; continue; }
        double lo = y_low[i] / s, hi = y_high[i] / s;
        v_mid[i] = (lo + hi) / 2;
        v_slack[i] = ties ? 0.0 : (hi - lo) / 2 + 3 * u * std::fabs(v_mid[i]);  // ties: y / scale is exact
        center_codes[i] = code_of(ref.input.values[i] / s, rule);
      }
    }
    compare_codes(r, "q", actual_codes, center_codes, v_mid, hidden, rule, [&](std::size_t i) { return v_slack[i]; });
    r.keep("expected_y", {tokens, hidden}, std::move(ref.input.values));
    r.keep("expected_q", {tokens, hidden}, std::move(ref.codes.values));
    r.keep("expected_scale", {tokens}, std::move(ref.scale));
  }
};

CaseList rmsnorm_quantize_table() {
  CaseList cases;
  auto add = [&](int64_t t, int64_t c, int64_t pad, DType d, Distribution dist, const NamedActOptions& o, double eps,
                 uint64_t seed) {
    cases.push_back(std::make_unique<RmsnormQuantizeCase>(t, c, pad, d, dist, o, eps, seed));
  };
  const NamedActOptions lmdeploy_fused{"lmdeploy_fused", lmdeploy_fused_rmsnorm_act_quant()};
  for (int64_t c : hidden_sizes())
    for (DType d : {DType::f32, DType::f16, DType::bf16})
      for (int64_t t : {1, 7}) add(t, c, c % 2 ? 1 : 0, d, Distribution::outlier_channels, lmdeploy_fused, 1e-5, 1);
  for (Distribution dist : all_distributions())
    for (const NamedActOptions& o : all_act_option_combinations())
      for (DType d : {DType::f32, DType::bf16}) add(9, 1025, 3, d, dist, o, 1e-6, 2);
  // Exact ties under every option combination (eps 0 makes the normalisation exact), tails and padding.
  for (const NamedActOptions& o : all_act_option_combinations())
    for (DType d : {DType::f32, DType::f16, DType::bf16}) add(3, 43, 1, d, Distribution::midpoints, o, 0.0, 5);
  // Divide and reciprocal-multiply told apart (exact y, ties at 63.5 the two f32 formulas split).
  for (const NamedActOptions& o : all_act_option_combinations())
    cases.push_back(std::make_unique<RmsnormQuantizeCase>(3, 43, 1, DType::bf16, Distribution::midpoints, o, 0.0, 6, true));
  add(4096, 4096, 0, DType::bf16, Distribution::outlier_channels, lmdeploy_fused, 1e-5, 3);
  return cases;
}

const CaseTableRegistration rmsnorm_quantize_registration{"rmsnorm_quantize", rmsnorm_quantize_table};

}  // namespace
}  // namespace smoothcheck::cases
