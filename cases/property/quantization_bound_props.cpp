// Property 4 (numerics.md §8): the error bounds of int8 quantisation.
//  - per element, when not saturated: |x − scale·q| ≤ scale/2 + the rounding of x/scale, for every
//    rounding/math/clamp/zero-row option (activations, per token, with or without a migration scale)
//    and every weight variant. The kernel forms x/scale in f32 (a true division, or x times an f32
//    reciprocal of an f32 scale; with migration first x times an f32 1/s), at most four f32 roundings
//    of a value |x/scale| ≤ 128: 4·u32·|x/scale|·scale = 4·u32·|x| in units of x.
//  - the W8A8 output: |ŷ − y| ≤ Σ_k(|x_k|·b_n/2 + |ŵ_k|·a_m/2) plus those element roundings, plus the
//    epilogue: float(acc), two f32 products and the bias add (≤ 4 u32 relative) and the rounding to
//    the output dtype (u_out relative, twice for lmdeploy's bias added in the output dtype).
#include <cmath>

#include "cases/differential/mutant_backends.h"
#include "cases/property/property_generators.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

constexpr double kElementRoundings = 4.0;  // see the header comment

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
  const double u32 = unit_roundoff(DType::f32);

  for (int64_t t = 0; t < T; ++t) {
    const double scale = q.scale[std::size_t(t)];
    RC_ASSERT(std::isfinite(scale));
    RC_ASSERT(scale >= 0.0);
    for (int64_t c = 0; c < C; ++c) {
      const double target = s.empty() ? x.at(t, c) : x.at(t, c) / s[std::size_t(c)];
      const double code = q.codes.at(t, c);
      // Per-token scales come from the row's own absmax: |target/scale| ≤ 127 (1 + rounding), never
      // saturated; a zero scale (zero row, vLLM) must come with code 0 and a zero row.
      if (scale == 0.0) {
        RC_ASSERT(code == 0.0);
        RC_ASSERT(target == 0.0);
        continue;
      }
      const double err = std::fabs(target - scale * code);
      const double bound = scale / 2 + kElementRoundings * u32 * std::fabs(target) * (s.empty() ? 1.0 : 1.5);
      if (err > bound)
        RC_LOG() << "x[" << t << ", " << c << "] target " << target << " scale " << scale << " code " << code << "\n";
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
  const double u32 = unit_roundoff(DType::f32);
  for (int64_t r = 0; r < O; ++r) {
    const double scale = q.scale[std::size_t(r)];
    RC_ASSERT(std::isfinite(scale));
    for (int64_t c = 0; c < C; ++c) {
      const double err = std::fabs(w.at(r, c) - scale * q.codes.at(r, c));
      // compressed-tensors' absmax/127.5 puts +absmax on 127.5, clamped to 127: still within scale/2.
      RC_ASSERT(err <= scale / 2 + kElementRoundings * u32 * std::fabs(w.at(r, c)));
    }
  }
}

void w8a8_output_error_bounded(StepRunner& runner, const ActQuantOptions& act, WeightQuant variant, Epilogue epilogue,
                               bool with_bias) {
  const DType dtype = *property_gen::float_dtype(runner.supports(DType::f64)).as("input dtype");
  const DType out_dtype = *property_gen::float_dtype(false).as("output dtype");
  const int64_t M = *property_gen::extent(9).as("M");
  const int64_t N = *property_gen::extent(9).as("N");
  const int64_t K = *property_gen::extent(160).as("K");
  const TensorSpec xs = *property_gen::tensor_of_shape(M, K, dtype).as("X");
  const TensorSpec ws = *property_gen::tensor_of_shape(N, K, dtype).as("W");
  const TensorSpec bs = *property_gen::tensor_of_shape(1, N, out_dtype).as("bias");
  RC_TAG(to_string(out_dtype), to_string(epilogue));
  const Matrix x = matrix_of(M, K, xs.values()), w = matrix_of(N, K, ws.values());
  const Vector bias = with_bias ? bs.values() : Vector{};

  const CodesResult qa = runner.quantize_per_token(x, dtype, {}, act);
  const CodesResult qw = runner.quantize_weight(w, dtype, variant);
  const double u32 = unit_roundoff(DType::f32), u_out = unit_roundoff(out_dtype);

  // The exact product and the bound first: a case whose result cannot be represented in the output
  // dtype is outside §8 (it must overflow), so it is discarded rather than judged.
  Matrix exact(M, N), bound(M, N), dequantised(M, N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double a = qa.scale[std::size_t(m)], b = qw.scale[std::size_t(n)];
      double y = 0, y_hat = 0, quant = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double xk = x.at(m, k), wk = w.at(n, k), w_hat = b * qw.codes.at(n, k);
        y += xk * wk;
        y_hat += (a * qa.codes.at(m, k)) * w_hat;
        quant += std::fabs(xk) * (b / 2 + kElementRoundings * u32 * std::fabs(wk)) +
                 std::fabs(w_hat) * (a / 2 + kElementRoundings * u32 * std::fabs(xk));
      }
      const double b_n = bias.empty() ? 0.0 : bias[std::size_t(n)];
      exact.at(m, n) = y + b_n;
      dequantised.at(m, n) = y_hat + b_n;
      const double f64_sums = 2 * gamma_k(K, unit_roundoff(DType::f64)) * quant;
      const double epilogue_rounding =
          (4 * u32 + 2 * u_out) * (std::fabs(y_hat) + std::fabs(b_n)) + 2 * underflow_error(out_dtype);
      bound.at(m, n) = quant + f64_sums + epilogue_rounding;
      RC_PRE(std::fabs(y_hat) + std::fabs(b_n) + bound.at(m, n) < largest_finite(out_dtype) / 2);
    }

  const Matrix out = runner.gemm_w8a8(qa.codes, qw.codes, qa.scale, qw.scale, bias, epilogue, out_dtype);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double err = std::fabs(out.at(m, n) - exact.at(m, n));
      if (!(err <= bound.at(m, n)))
        RC_LOG() << "y[" << m << ", " << n << "] = " << out.at(m, n) << ", exact " << exact.at(m, n)
                 << ", dequantised " << dequantised.at(m, n) << ", bound " << bound.at(m, n) << "\n";
      RC_ASSERT(err <= bound.at(m, n));
    }
}

std::unique_ptr<kernels::Backend> mutant_named(const std::string& name) {
  for (const mutants::Mutant& m : mutants::all_mutants())
    if (m.name == name) return m.make();
  return nullptr;
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(PerTokenQuantizationError, per_token_element_error_bounded);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(WeightQuantizationError, weight_element_error_bounded);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(W8A8OutputError, w8a8_output_error_bounded);

// Can fail: a quantiser that never quantises the tail of a row whose length is not a multiple of 8
// leaves poisoned codes there; swapped epilogue scales dequantise with the wrong token's scale.
TEST(QuantizationErrorCanFail, CatchesMissingVectorTail) {
  auto backend = mutant_named("wrong_tail_for_sizes_not_a_multiple_of_8");
  ASSERT_TRUE(backend);
  auto runner = backend_runner(*backend);
  expect_counterexample("wrong_tail_for_sizes_not_a_multiple_of_8", bind_runner(*runner, &per_token_element_error_bounded));
}

TEST(QuantizationErrorCanFail, CatchesSwappedEpilogueScales) {
  auto backend = mutant_named("swapped_epilogue_scales");
  ASSERT_TRUE(backend);
  auto runner = backend_runner(*backend);
  expect_counterexample("swapped_epilogue_scales", bind_runner(*runner, &w8a8_output_error_bounded));
}

TEST(QuantizationErrorCanFail, CatchesPerColumnWeightScale) {
  auto backend = mutant_named("per_column_instead_of_per_row_weight_scale");
  ASSERT_TRUE(backend);
  auto runner = backend_runner(*backend);
  expect_counterexample("per_column_instead_of_per_row_weight_scale", bind_runner(*runner, &weight_element_error_bounded));
}

}  // namespace smoothcheck::property
