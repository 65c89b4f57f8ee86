// numerics.md §3: the smoothing scale s_j from the activation statistic a_j and the weight statistic
// w_j, with std::pow (powf), every step in float32 or rounded to a bf16/f16 arithmetic dtype (numerics.h,
// "smoothing in the model's dtype"). One pass over C values: the same code serves both ISAs. Lower
// clamps keep a NaN as torch.clamp(min=...) does (fmaxf would drop it).
#include <cmath>

#include "kernels/argument_contract.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

// lmdeploy 0.18.0 lite/quantization/awq.py smooth_ln_fcs / smooth_fc_fcs (lines 187-196 / 241-249) in
// the arithmetic dtype t (f32: no rounding): w' = w^(1-α), clamped to t(1e-4) everywhere only when its
// minimum is exactly 0 (all or nothing; torch's min() propagates NaN, and NaN == 0 is false), s =
// (a^α / w').clamp(min=1e-4), then s / sqrt(max·min) over the non-zero-norm channels (numerics::
// lmdeploy_denominator_in: in t for a norm source, in float32 for an fc source), s = 1 where the norm
// weight is 0. s holds w' between the two passes (s is the kernel's own output, never an input).
void lmdeploy_scale_in(const float* a, const float* w, const float* norm_weight, int64_t channels, float alpha,
                       DType t, float* s) {
  const float beta = numerics::add_rn(1.0f, -alpha);
  bool w_min_is_zero = false, w_has_nan = false, w_has_negative = false;
  for (int64_t j = 0; j < channels; ++j) {
    const float wp = s[j] = numerics::pow_in(w[j], beta, t);
    w_min_is_zero |= wp == 0.0f;
    w_has_nan |= std::isnan(wp);
    w_has_negative |= wp < 0.0f;
  }
  const bool clamp_w = w_min_is_zero && !w_has_nan && !w_has_negative;
  bool any_nz = false;
  float s_max = 0.0f, s_min = 0.0f;
  for (int64_t j = 0; j < channels; ++j) {
    s[j] = numerics::lmdeploy_raw_scale_in(a[j], s[j], clamp_w, alpha, t);
    if (norm_weight && norm_weight[j] == 0.0f) continue;
    s_max = any_nz ? std::fmax(s_max, s[j]) : s[j];
    s_min = any_nz ? std::fmin(s_min, s[j]) : s[j];
    any_nz = true;
  }
  const float denom = numerics::lmdeploy_denominator_in(s_max, s_min, norm_weight != nullptr, t);
  for (int64_t j = 0; j < channels; ++j)
    s[j] = (norm_weight && norm_weight[j] == 0.0f) ? 1.0f : numerics::round_to(numerics::div_rn(s[j], denom), t);
}

}  // namespace

void CpuBackend::smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels,
                              Recipe recipe, float alpha, float* s, DType arithmetic) {
  validate_smooth_scale(cpu::kBackend, a, w, channels, recipe, alpha, s, arithmetic);
  if (channels == 0) return;
  // float32 is the same steps with nothing to round: one code path for every arithmetic.
  if (recipe == Recipe::lmdeploy) return lmdeploy_scale_in(a, w, norm_weight, channels, alpha, arithmetic, s);
  for (int64_t j = 0; j < channels; ++j) s[j] = numerics::smooth_scale_in(a[j], w[j], alpha, recipe, arithmetic);
}

}  // namespace smoothcheck::kernels
