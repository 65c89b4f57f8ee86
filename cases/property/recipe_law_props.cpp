// Property 6: laws of the smoothing recipes (numerics.md §3) and of the migration mode (§4).
//  - α = 0: s = clamp(1 / w) depends on the weights only.
//  - α = 1: s = clamp(a) (lmdeploy: divided by one normaliser), proportional to the activation statistic
//    wherever it is above the recipe's clamp.
//  - lmdeploy normalisation: max(s[nz]) · min(s[nz]) = 1 over channels with a non-zero norm weight
//    (up to the f32 roundings of the product, the sqrt and the divisions), and s = 1 where it is zero.
//  - Multiplying s by a constant c leaves the W8A8 output unchanged: bit for bit when c is a power of
//    two (every step is then an exact rescaling, in f32), and within the two §8 bounds otherwise.
#include <cmath>

#include "cases/property/property_generators.h"
#include "cases/property/property_mutants.h"
#include "cases/property/property_support.h"

namespace smoothcheck::property {
namespace {

// A statistic vector: |values| of a generated tensor, f32; `positive` replaces zeros by the smallest
// weight statistic the recipes produce (1e-5), since a zero weight statistic is special-cased.
Vector statistic(const TensorSpec& spec, bool positive) {
  Vector v = spec.values();
  for (double& x : v) {
    x = double(float(std::fabs(x)));
    if (positive && x == 0.0) x = double(1e-5f);
  }
  return v;
}

Vector norm_weight_with_zeros(int64_t C, uint64_t seed) {
  Vector n = generate_matrix(1, C, Distribution::normal, seed, DType::f32);
  for (int64_t j = 0; j < C; ++j)
    if ((seed >> (j % 64)) & 1 && j % 3 == 0) n[std::size_t(j)] = 0.0;
  return n;
}

void alpha_zero_depends_on_weights_only(StepRunner& runner, Recipe recipe) {
  const int64_t C = *property_gen::extent(64).as("channels");
  const Vector a1 = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("a, first"), false);
  const Vector a2 = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("a, second"), false);
  const Vector w = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("w"), true);
  const bool with_norm = *rc::gen::arbitrary<bool>().as("with a norm weight");
  const Vector norm = with_norm ? norm_weight_with_zeros(C, *rc::gen::arbitrary<uint64_t>().as("norm seed")) : Vector{};
  RC_ASSERT(runner.smooth_scale(a1, w, norm, recipe, 0.0f) == runner.smooth_scale(a2, w, norm, recipe, 0.0f));
}

void alpha_one_is_proportional_to_activation(StepRunner& runner, Recipe recipe) {
  const int64_t C = *property_gen::extent(64).as("channels");
  const Vector a = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("a"), false);
  const Vector w = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("w"), true);
  const Vector s = runner.smooth_scale(a, w, {}, recipe, 1.0f);
  const double clamp = recipe == Recipe::lmdeploy ? 1e-4 : 1e-5;
  double ratio = 0;
  for (int64_t j = 0; j < C; ++j) {
    if (a[std::size_t(j)] <= clamp) continue;
    const double r = s[std::size_t(j)] / a[std::size_t(j)];
    if (ratio == 0) ratio = r;
    // s_j = a_j (smoothquant, llmcompressor: a/w^0 exactly) or fl(a_j / N) (lmdeploy): one f32 rounding.
    RC_ASSERT(std::fabs(r / ratio - 1) <= 3 * unit_roundoff(DType::f32));
  }
}

void lmdeploy_normalisation(StepRunner& runner, uint64_t norm_seed) {
  const int64_t C = *property_gen::extent(64).as("channels");
  const Vector a = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("a"), false);
  const Vector w = statistic(*property_gen::tensor_of_shape(1, C, DType::f32).as("w"), true);
  const float alpha = *property_gen::alpha().as("alpha");
  const Vector norm = norm_weight_with_zeros(C, norm_seed);
  const Vector s = runner.smooth_scale(a, w, norm, Recipe::lmdeploy, alpha);
  double s_max = 0, s_min = INFINITY;
  for (int64_t j = 0; j < C; ++j) {
    if (norm[std::size_t(j)] == 0.0) {
      RC_ASSERT(s[std::size_t(j)] == 1.0);
      continue;
    }
    s_max = std::fmax(s_max, s[std::size_t(j)]);
    s_min = std::fmin(s_min, s[std::size_t(j)]);
  }
  RC_PRE(s_max > 0);  // every norm weight zero: nothing to normalise
  RC_ASSERT(std::fabs(s_max * s_min - 1) <= 8 * unit_roundoff(DType::f32));
}

// y = W8A8(X / (c s), W · (c s)) through the migration path.
struct MigratedProduct {
  Matrix out;
  Vector bound;  // §8 bound of |out − X·Wᵀ|, per element
};
MigratedProduct migrated_w8a8(StepRunner& runner, const Matrix& x, const Matrix& w, const Vector& s, DType dtype,
                              const ActQuantOptions& act, WeightQuant variant, Epilogue epilogue) {
  const Matrix ws = runner.scale_columns(w, s, dtype);
  const CodesResult qa = runner.quantize_per_token(x, dtype, s, act);
  const CodesResult qw = runner.quantize_weight(ws, dtype, variant);
  MigratedProduct p{runner.gemm_w8a8(qa.codes, qw.codes, qa.scale, qw.scale, {}, epilogue, DType::f32), {}};
  const double u32 = unit_roundoff(DType::f32), u = storage_roundoff(dtype);
  for (int64_t m = 0; m < x.rows; ++m)
    for (int64_t n = 0; n < w.rows; ++n) {
      double b = 0, magnitude = 0;
      for (int64_t k = 0; k < x.cols; ++k) {
        const double xs = std::fabs(x.at(m, k) / s[std::size_t(k)]), wsk = std::fabs(ws.at(n, k));
        const double w_hat = std::fabs(qw.scale[std::size_t(n)] * qw.codes.at(n, k));
        b += xs * (qw.scale[std::size_t(n)] / 2 + 4 * u32 * wsk) + w_hat * (qa.scale[std::size_t(m)] / 2 + 6 * u32 * xs);
        magnitude += xs * wsk;
      }
      // The weights were rounded to dtype after smoothing (u per product); the epilogue adds f32 roundings.
      p.bound.push_back(b + 2 * u * magnitude + 6 * u32 * (magnitude + b));
    }
  return p;
}

void constant_factor_in_s_cancels(StepRunner& runner, WeightQuant variant, Epilogue epilogue, const PositiveScales& ss) {
  ActQuantOptions act = *rc::gen::arbitrary<ActQuantOptions>().as("activation options");
  act.zero_row = ZeroRow::zero_scale;  // a fixed absmax floor is not rescaled with s
  const bool power_of_two = *rc::gen::arbitrary<bool>().as("c is a power of two");
  const double c = power_of_two ? std::ldexp(1.0, *property_gen::power_of_two_exponent().as("e"))
                                : double(float(std::exp2(*rc::gen::inRange(-300, 301).as("100·log2 c") / 100.0)));
  // The exact rescaling argument needs no subnormals, so the bit-for-bit case runs in f32.
  const DType dtype = power_of_two ? DType::f32 : *property_gen::float_dtype(false).as("dtype");
  const int64_t M = *property_gen::extent(8).as("M"), N = *property_gen::gemm_extent(8).as("N");
  const int64_t K = *property_gen::gemm_extent(96).as("K");
  const TensorSpec xs = *property_gen::tensor_of_shape(M, K, dtype).as("X");
  const TensorSpec wspec = *property_gen::tensor_of_shape(N, K, dtype).as("W");
  const Matrix x = matrix_of(M, K, xs.values()), w = matrix_of(N, K, wspec.values());
  const Vector s = ss.values(K);
  Vector cs = s;
  for (double& v : cs) v = double(float(c * v));
  RC_TAG(power_of_two ? "c = 2^e" : "any c");

  const MigratedProduct y1 = migrated_w8a8(runner, x, w, s, dtype, act, variant, epilogue);
  const MigratedProduct yc = migrated_w8a8(runner, x, w, cs, dtype, act, variant, epilogue);
  for (double v : y1.out.values) RC_PRE(std::isfinite(v));
  for (double v : yc.out.values) RC_PRE(std::isfinite(v));
  if (power_of_two) {
    RC_ASSERT(yc.out.values == y1.out.values);
    return;
  }
  for (std::size_t i = 0; i < y1.out.values.size(); ++i)
    RC_ASSERT(std::fabs(yc.out.values[i] - y1.out.values[i]) <= y1.bound[i] + yc.bound[i]);
}

}  // namespace

SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(AlphaZeroLaw, alpha_zero_depends_on_weights_only);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(AlphaOneLaw, alpha_one_is_proportional_to_activation);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(LmdeployNormalisation, lmdeploy_normalisation);
SMOOTHCHECK_PROPERTY_ON_REFERENCE_AND_BACKENDS(ConstantFactorInS, constant_factor_in_s_cancels);

// Can fail: exponents swapped (α ↔ 1 − α) turn the α = 0 law into s ∝ a and the α = 1 law into
// s = 1/w; a migration step that multiplies by s instead of dividing breaks the cancellation of c; an
// lmdeploy normaliser over every channel centres max·min on the wrong set.
SMOOTHCHECK_TWIN_OF(AlphaZeroLaw, CatchesSwappedAlpha) {
  const char* name = "swapped_alpha";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &alpha_zero_depends_on_weights_only);
}

SMOOTHCHECK_TWIN_OF(AlphaOneLaw, CatchesSwappedAlpha) {
  const char* name = "swapped_alpha";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &alpha_one_is_proportional_to_activation);
}

SMOOTHCHECK_TWIN_OF(LmdeployNormalisation, CatchesNormaliserOverEveryChannel) {
  expect_counterexample_on("lmdeploy_normaliser_over_every_channel", property_mutants::lmdeploy_normaliser_over_every_channel(),
                &lmdeploy_normalisation);
}

SMOOTHCHECK_TWIN_OF(ConstantFactorInS, CatchesMigrationThatMultiplies) {
  const char* name = "migration_multiplies_by_s";
  expect_counterexample_on(name, property_mutants::differential_mutant(name), &constant_factor_in_s_cancels);
}

}  // namespace smoothcheck::property
