// Property 4 (numerics.md §8): the error bounds of int8 quantisation, with every scale in a bound
// re-derived from the INPUT by the named formula (input_derived_scales.h), never the kernel's own: a
// kernel with absmax/63 scales and codes to match would otherwise pass (its twin proves it is caught).
//  - the kernel's scale agrees with the derived scale d within its f32 roundings: |k − d| ≤ δ(d);
//  - per element, when not saturated: |x − k·q| ≤ k·(1/2 + r) ≤ d/2 + δ/2 + the rounding of x/k, for
//    every rounding/math/clamp/zero-row option (activations, per token, with or without a migration
//    scale) and every weight variant. The kernel forms x/k in f32 (a true division, or x times an f32
//    reciprocal of an f32 scale; with migration first x times an f32 1/s), at most four f32 roundings
//    of a value |x/k| ≤ 128: 4·u32·|x/k|·k = 4·u32·|x| in units of x.
//  - the W8A8 output: |ŷ − y| ≤ Σ_k(|x_k|·e_w + |ŵ_k|·e_x) with e_x = a_m/2 + δ(a_m)/2 + 4u32|x_k|,
//    e_w = b_n/2 + δ(b_n)/2 + 4u32|w_k| from the derived a_m, b_n, and |ŵ_k| ≤ |w_k| + e_w; plus the
//    epilogue: float(acc), two f32 products and the bias add (≤ 4 u32 relative) and the rounding to
//    the output dtype (u_out relative, twice for lmdeploy's bias added in the output dtype), relative
//    to |ŷ| + |bias| ≤ |y| + the quantisation bound + |bias|.
//  - weights in a bf16/f16 dtype under the variants that divide in it (the authors', compressed-tensors):
//    the derived scale is the formula evaluated in that dtype, and w/k is rounded to it before its code,
//    adding u_dtype·|w| per element (up to half a step more in bf16).
#include <cmath>

#include "cases/property/input_derived_scales.h"
#include "cases/property/property_generators.h"
#include "cases/property/property_mutants.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

constexpr double kElementRoundings = 4.0;  // see the header comment

// The relative rounding of w / scale to the weight's dtype before the code is rounded (the variants
// that divide in a bf16/f16 weight's own dtype, numerics.md §5): |fl(v) − v| ≤ u·|v|, so the
// dequantised error grows by u·|w|; 0 where the quotient stays in f32.
double quotient_rounding(WeightQuant variant, DType dtype) {
  const DType arithmetic = reference::weight_arithmetic_dtype(variant, dtype);
  return arithmetic == DType::f32 ? 0.0 : unit_roundoff(arithmetic);
}

void per_token_element_error_bounded(StepRunner& runner, const ActQuantOptions& options, bool with_migration) {
  const DType dtype = *property_gen::float_dtype(runner.supports(DType::f64)).as("dtype");
  const int64_t T = *property_gen::extent(12).as("tokens");
  const int64_t C = *property_gen::extent(80).as("channels");
  const TensorSpec xs = *property_gen::tensor_of_shape(T, C, dtype).as("X");
  const PositiveScales ss = *rc::gen::arbitrary<PositiveScales>().as("migration scale");
  RC_TAG(to_string(xs.distribution), with_migration ? "migration" : "plain");
  const Matrix x = matrix_of(T, C, xs.values());
  const Vector s = with_migration ? ss.values(C) : Vector{};
  const CodesResult q = runner.quantize_per_token(x, dtype, s, options);
  const Vector derived = per_token_scales_from_input(x, s, options);
  assert_scales_agree(q.scale, derived, "per-token");
  const double u32 = unit_roundoff(DType::f32);

  for (int64_t t = 0; t < T; ++t) {
    const double kernel_scale = q.scale[std::size_t(t)], d = derived[std::size_t(t)];
    for (int64_t c = 0; c < C; ++c) {
      const double target = s.empty() ? x.at(t, c) : x.at(t, c) / s[std::size_t(c)];
      const double code = q.codes.at(t, c);
      // |target/d| ≤ 127 by construction: never saturated. A zero derived scale (a zero row, vLLM)
      // leaves a bound of 0: the kernel's scale must be 0 and every code 0.
      const double err = std::fabs(target - kernel_scale * code);
      const double bound =
          d / 2 + scale_tolerance(d) / 2 + kElementRoundings * u32 * std::fabs(target) * (s.empty() ? 1.0 : 1.5);
      if (err > bound)
        RC_LOG() << "x[" << t << ", " << c << "] target " << target << " kernel scale " << kernel_scale
                 << " derived scale " << d << " code " << code << "\n";
      RC_ASSERT(err <= bound);
    }
  }
}

void weight_element_error_bounded(StepRunner& runner, WeightQuant variant) {
  const DType dtype = *property_gen::float_dtype(runner.supports(DType::f64)).as("dtype");
  const int64_t O = *property_gen::extent(12).as("out_features");
  const int64_t C = *property_gen::extent(80).as("in_features");
  const TensorSpec ws = *property_gen::tensor_of_shape(O, C, dtype).as("W");
  RC_TAG(to_string(ws.distribution));
  const Matrix w = matrix_of(O, C, ws.values());
  const CodesResult q = runner.quantize_weight(w, dtype, variant);
  const Vector derived = weight_scales_from_input(w, variant, dtype);
  assert_scales_agree(q.scale, derived, "weight");
  const double u32 = unit_roundoff(DType::f32);
  const double u_quotient = quotient_rounding(variant, dtype);
  for (int64_t r = 0; r < O; ++r) {
    const double kernel_scale = q.scale[std::size_t(r)], d = derived[std::size_t(r)];
    for (int64_t c = 0; c < C; ++c) {
      const double err = std::fabs(w.at(r, c) - kernel_scale * q.codes.at(r, c));
      // compressed-tensors' absmax/127.5 puts +absmax on 127.5, clamped to 127: still within scale/2.
      const double bound =
          d / 2 + scale_tolerance(d) / 2 + (kElementRoundings * u32 + u_quotient) * std::fabs(w.at(r, c));
      if (err > bound)
        RC_LOG() << "w[" << r << ", " << c << "] = " << w.at(r, c) << " kernel scale " << kernel_scale
                 << " derived scale " << d << " code " << q.codes.at(r, c) << "\n";
      RC_ASSERT(err <= bound);
    }
  }
}

void w8a8_output_error_bounded(StepRunner& runner, const ActQuantOptions& act, WeightQuant variant, Epilogue epilogue,
                               bool with_bias) {
  const DType dtype = *property_gen::float_dtype(runner.supports(DType::f64)).as("input dtype");
  const DType out_dtype = *property_gen::float_dtype(false).as("output dtype");
  const int64_t M = *property_gen::extent(9).as("M");
  const int64_t N = *property_gen::gemm_extent(9).as("N");
  const int64_t K = *property_gen::gemm_extent(160).as("K");
  const TensorSpec xs = *property_gen::tensor_of_shape(M, K, dtype).as("X");
  const TensorSpec ws = *property_gen::tensor_of_shape(N, K, dtype).as("W");
  const TensorSpec bs = *property_gen::tensor_of_shape(1, N, out_dtype).as("bias");
  RC_TAG(to_string(out_dtype), to_string(epilogue));
  const Matrix x = matrix_of(M, K, xs.values()), w = matrix_of(N, K, ws.values());
  const Vector bias = with_bias ? bs.values() : Vector{};

  const CodesResult qa = runner.quantize_per_token(x, dtype, {}, act);
  const CodesResult qw = runner.quantize_weight(w, dtype, variant);
  const Vector a = per_token_scales_from_input(x, {}, act), b = weight_scales_from_input(w, variant, dtype);
  const double u_quotient = quotient_rounding(variant, dtype);
  assert_scales_agree(qa.scale, a, "per-token");
  assert_scales_agree(qw.scale, b, "weight");
  const double u32 = unit_roundoff(DType::f32), u64 = unit_roundoff(DType::f64), u_out = unit_roundoff(out_dtype);

  // The exact product and the bound first, from the inputs and the derived scales only: a case whose
  // result cannot be represented in the output dtype is outside §8 (it must overflow), so it is
  // discarded rather than judged.
  Matrix exact(M, N), bound(M, N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double a_m = a[std::size_t(m)], b_n = b[std::size_t(n)];
      double y = 0, magnitude = 0, quant = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double xk = std::fabs(x.at(m, k)), wk = std::fabs(w.at(n, k));
        const double e_x = a_m / 2 + scale_tolerance(a_m) / 2 + kElementRoundings * u32 * xk;
        const double e_w = b_n / 2 + scale_tolerance(b_n) / 2 + (kElementRoundings * u32 + u_quotient) * wk;
        y += x.at(m, k) * w.at(n, k);
        magnitude += xk * wk;
        quant += xk * e_w + (wk + e_w) * e_x;
      }
      const double bias_n = bias.empty() ? 0.0 : bias[std::size_t(n)];
      exact.at(m, n) = y + bias_n;
      const double f64_sums = 2 * gamma_k(K, u64) * (magnitude + quant);
      const double dequantised_magnitude = std::fabs(y) + quant + f64_sums;
      const double epilogue_rounding =
          (4 * u32 + 2 * u_out) * (dequantised_magnitude + std::fabs(bias_n)) + 2 * underflow_error(out_dtype);
      bound.at(m, n) = quant + f64_sums + epilogue_rounding;
      RC_PRE(dequantised_magnitude + std::fabs(bias_n) + bound.at(m, n) < largest_finite(out_dtype) / 2);
    }

  const Matrix out = runner.gemm_w8a8(qa.codes, qw.codes, qa.scale, qw.scale, bias, epilogue, out_dtype);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double err = std::fabs(out.at(m, n) - exact.at(m, n));
      if (!(err <= bound.at(m, n)))
        RC_LOG() << "y[" << m << ", " << n << "] = " << out.at(m, n) << ", exact " << exact.at(m, n) << ", bound "
                 << bound.at(m, n) << "\n";
      RC_ASSERT(err <= bound.at(m, n));
    }
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(PerTokenQuantizationError, per_token_element_error_bounded);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(WeightQuantizationError, weight_element_error_bounded);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(W8A8OutputError, w8a8_output_error_bounded);

// Can fail. Seven-bit scales (absmax/63) with codes to match: self-consistent, caught only because the
// scales are derived from the input (each of the three properties on its own).
SMOOTHCHECK_TWIN_OF(PerTokenQuantizationError, CatchesSevenBitScalesWithMatchingCodes) {
  expect_counterexample_on("seven_bit_scales", property_mutants::seven_bit_scales(), &per_token_element_error_bounded);
}
SMOOTHCHECK_TWIN_OF(WeightQuantizationError, CatchesSevenBitScalesWithMatchingCodes) {
  expect_counterexample_on("seven_bit_scales", property_mutants::seven_bit_scales(), &weight_element_error_bounded);
}
SMOOTHCHECK_TWIN_OF(W8A8OutputError, CatchesSevenBitScalesWithMatchingCodes) {
  expect_counterexample_on("seven_bit_scales", property_mutants::seven_bit_scales(), &w8a8_output_error_bounded);
}

// A quantiser that never quantises the tail of a row whose length is not a multiple of 8 leaves
// poisoned codes there; swapped epilogue scales dequantise with the wrong token's scale; a weight
// scale reduced per column scales each row by another row's absmax.
SMOOTHCHECK_TWIN_OF(PerTokenQuantizationError, CatchesMissingVectorTail) {
  const char* name = "wrong_tail_for_sizes_not_a_multiple_of_8";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &per_token_element_error_bounded);
}
SMOOTHCHECK_TWIN_OF(W8A8OutputError, CatchesSwappedEpilogueScales) {
  const char* name = "swapped_epilogue_scales";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &w8a8_output_error_bounded);
}
SMOOTHCHECK_TWIN_OF(WeightQuantizationError, CatchesPerColumnWeightScale) {
  const char* name = "per_column_instead_of_per_row_weight_scale";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &weight_element_error_bounded);
}

}  // namespace smoothcheck::property
