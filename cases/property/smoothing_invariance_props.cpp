// Property 1 (numerics.md §4, §8): smoothing is an identity in exact arithmetic,
//   (X · diag(s)⁻¹) · (diag(s) · Wᵀ) = X · Wᵀ,
// and in floating point each x_k / s_k and s_k · w_k adds one rounding of the dtype they are stored in.
// The implementation applies s (divide_rows on Xᵀ: x / s with one rounding; scale_columns on W:
// s · w with one rounding); the products are then taken with a plain float64 loop, so the bound is
//   |ŷ − y| ≤ Σ_k [ (2u + u²) |x_k w_k| + e (|ŵ_k| + |x_k / s_k|(1 + u)) ] + γ_K (Σ|x w| + Σ|x̂ ŵ|)
// with u = storage_roundoff(dtype) (§8's 2u, plus the u² term it drops and the subnormal error e of
// the dtype) and γ_K that of the float64 sums.
#include <cmath>

#include "cases/differential/mutant_backends.h"
#include "cases/property/property_generators.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

void smoothing_is_invariant(StepRunner& runner, const PositiveScales& scale_spec) {
  const DType dtype = *property_gen::float_dtype(runner.supports(DType::f64)).as("dtype");
  const int64_t T = *property_gen::extent(12).as("tokens T");
  const int64_t K = *property_gen::extent(96).as("channels K");
  const int64_t N = *property_gen::extent(12).as("out_features N");
  const TensorSpec xs = *property_gen::tensor_of_shape(T, K, dtype).as("X");
  const TensorSpec ws = *property_gen::tensor_of_shape(N, K, dtype).as("W");
  RC_TAG(to_string(dtype), to_string(xs.distribution));

  const Matrix x = matrix_of(T, K, xs.values());
  const Matrix w = matrix_of(N, K, ws.values());
  const Vector s = scale_spec.values(K);

  // xᵀ [K, T], row k divided by s_k: the same rounding as X · diag(s)⁻¹ element by element.
  Matrix xt(K, T);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) xt.at(k, t) = x.at(t, k);
  const Matrix x_smoothed_t = runner.divide_rows(xt, s, dtype);
  const Matrix w_smoothed = runner.scale_columns(w, s, dtype);
  for (double v : x_smoothed_t.values) RC_PRE(std::isfinite(v));  // overflow of the dtype: outside §8
  for (double v : w_smoothed.values) RC_PRE(std::isfinite(v));

  const double u = storage_roundoff(dtype), e = underflow_error(dtype);
  const double g = gamma_k(K, unit_roundoff(DType::f64));
  double worst_ratio = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      double y = 0, y_smoothed = 0, magnitude = 0, magnitude_smoothed = 0, rounding = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double xk = x.at(t, k), wk = w.at(n, k), xh = x_smoothed_t.at(k, t), wh = w_smoothed.at(n, k);
        y += xk * wk;
        y_smoothed += xh * wh;
        magnitude += std::fabs(xk * wk);
        magnitude_smoothed += std::fabs(xh * wh);
        rounding += (2 * u + u * u) * std::fabs(xk * wk) + e * (std::fabs(wh) + std::fabs(xk / s[k]) * (1 + u));
      }
      const double bound = rounding + g * (magnitude + magnitude_smoothed);
      const double err = std::fabs(y_smoothed - y);
      if (err > bound) {
        RC_LOG() << "y[" << t << ", " << n << "]: smoothed " << y_smoothed << " vs " << y << ", |error| " << err
                 << " > bound " << bound << "\n";
      }
      RC_ASSERT(err <= bound);
      if (bound > 0) worst_ratio = std::fmax(worst_ratio, err / bound);
    }
  RC_CLASSIFY(worst_ratio > 0.25, "error above a quarter of the bound");
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(SmoothingInvariance, smoothing_is_invariant);

// Can fail: a scale_columns that divides by s where it must multiply (a mutant of the differential
// runner) makes the smoothed product X · diag(s)⁻² · Wᵀ.
SMOOTHCHECK_TWIN_OF(SmoothingInvariance, CatchesDividingInsteadOfMultiplying) {
  for (const mutants::Mutant& m : mutants::all_mutants()) {
    if (m.name != "divides_by_s_instead_of_multiplying") continue;
    auto backend = m.make();
    auto runner = backend_runner(*backend);
    expect_counterexample(m.name, bind_runner(*runner, &smoothing_is_invariant));
    return;
  }
  FAIL() << "mutant divides_by_s_instead_of_multiplying not found";
}

}  // namespace smoothcheck::property
