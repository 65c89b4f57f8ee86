// numerics.md §3: the smoothing scale s_j from the activation statistic a_j and weight statistic w_j.
// Computed in float64 throughout. lmdeploy casts s to the model dtype before its normalisation; that
// rounding is left to the caller, which knows the dtype (round_to_dtype).
#include <cmath>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {
namespace {

using internal::require;

void check_arguments(const Vector& a, const Vector& w, const Vector& norm_weight, double alpha) {
  require(!a.empty(), "smooth_scale: empty activation statistic");
  require(a.size() == w.size(), "smooth_scale: a has " + std::to_string(a.size()) + " channels, w " +
                                    std::to_string(w.size()));
  require(norm_weight.empty() || norm_weight.size() == a.size(),
          "smooth_scale: norm_weight has " + std::to_string(norm_weight.size()) + " channels, a " +
              std::to_string(a.size()));
  require(alpha >= 0.0 && alpha <= 1.0, "smooth_scale: alpha " + std::to_string(alpha) + " is outside [0, 1]");
  // A negative statistic has no real fractional power; NaN and inf mean a broken calibration.
  for (std::size_t j = 0; j < a.size(); ++j) {
    require(std::isfinite(a[j]) && a[j] >= 0.0, "smooth_scale: a[" + std::to_string(j) + "] is not finite and >= 0");
    require(std::isfinite(w[j]) && w[j] >= 0.0, "smooth_scale: w[" + std::to_string(j) + "] is not finite and >= 0");
  }
}

// SmoothQuant authors (smooth_ln_fcs): s = a^alpha / w^(1-alpha), clamped to 1e-5. Their w is
// already clamped to 1e-5 (weight_stat), so a w of 0 is a caller's mistake that would give s = inf.
at::Tensor smoothquant_scale(const at::Tensor& a, const at::Tensor& w, double alpha) {
  require(alpha == 1.0 || w.gt(0.0).all().item<bool>(),
          "smooth_scale: the smoothquant recipe needs w > 0 (weight_stat clamps it to 1e-5)");
  return (a.pow(alpha) / w.pow(1.0 - alpha)).clamp_min(1e-5);
}

// lmdeploy 0.18.0 lite/quantization/awq.py smooth_ln_fcs (lines 187-196) / smooth_fc_fcs (lines
// 241-249): w' = w^(1-alpha), and only when min(w') is exactly 0 is every element of w' clamped to 1e-4
// (all or nothing: a w' of 1e-6 beside no zero stays 1e-6); s = max(a^alpha / w', 1e-4), then
// s / sqrt(max(s) * min(s)) over the channels whose norm weight is non-zero (all channels for fc->fc,
// where there is no norm), so that max * min = 1 there; s = 1 where the norm weight is 0. lmdeploy
// forms max*min in fp16 on the norm path, where it can overflow; in float64 it cannot.
at::Tensor lmdeploy_scale(const at::Tensor& a, const at::Tensor& w, const Vector& norm_weight, double alpha) {
  at::Tensor w_power = w.pow(1.0 - alpha);
  if (w_power.min().item<double>() == 0.0) w_power = w_power.clamp_min(1e-4);
  at::Tensor s = (a.pow(alpha) / w_power).clamp_min(1e-4);
  if (norm_weight.empty()) return s / (s.max() * s.min()).sqrt();
  const at::Tensor nonzero = internal::view_of(norm_weight).ne(0.0);
  // Every norm weight 0: nothing is smoothed (lmdeploy would fail on an empty max).
  if (!nonzero.any().item<bool>()) return at::ones_like(s);
  const at::Tensor kept = s.masked_select(nonzero);
  s = s / (kept.max() * kept.min()).sqrt();
  return s.masked_fill(nonzero.logical_not(), 1.0);
}

// llm-compressor SmoothQuantModifier: s = a^alpha / w^(1-alpha) with a = max - min and w = 2 absmax;
// where w = 0 (a column no fc reads) s = a; then clamped to 1e-5.
at::Tensor llmcompressor_scale(const at::Tensor& a, const at::Tensor& w, double alpha) {
  const at::Tensor s = at::where(w.gt(0.0), a.pow(alpha) / w.pow(1.0 - alpha), a);
  return s.clamp_min(1e-5);
}

}  // namespace

Vector smooth_scale(const Vector& a, const Vector& w, const Vector& norm_weight, Recipe recipe, double alpha) {
  check_arguments(a, w, norm_weight, alpha);
  const at::Tensor at_a = internal::view_of(a);
  const at::Tensor at_w = internal::view_of(w);
  switch (recipe) {
    case Recipe::smoothquant: return internal::vector_from(smoothquant_scale(at_a, at_w, alpha));
    case Recipe::lmdeploy: return internal::vector_from(lmdeploy_scale(at_a, at_w, norm_weight, alpha));
    case Recipe::llmcompressor: return internal::vector_from(llmcompressor_scale(at_a, at_w, alpha));
  }
  require(false, "smooth_scale: unknown Recipe");
  return {};
}

}  // namespace smoothcheck::reference
