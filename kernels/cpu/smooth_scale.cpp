// numerics.md §3: the smoothing scale s_j from the activation statistic a_j and the weight statistic
// w_j, in float32 with std::pow (powf). One pass over C values: the same code serves both ISAs.
// Lower clamps keep a NaN as torch.clamp(min=...) does (fmaxf would drop it).
#include <cmath>

#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/validate.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

float clamp_min(float v, float lo) { return v < lo ? lo : v; }  // torch.clamp(min=lo)

float migration_ratio(float a, float w, float alpha) {
  return numerics::div_rn(std::pow(a, alpha), std::pow(w, numerics::add_rn(1.0f, -alpha)));
}

}  // namespace

void CpuBackend::smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels,
                              Recipe recipe, float alpha, float* s) {
  const char* kernel = "smooth_scale";
  cpu::require(channels >= 0, kernel, "channels must be >= 0");
  cpu::check_array(a, channels, kernel, "a");
  cpu::check_array(w, channels, kernel, "w");
  cpu::check_array(s, channels, kernel, "s");
  cpu::require(std::isfinite(alpha), kernel, "alpha must be finite");
  if (channels == 0) return;

  switch (recipe) {
    case Recipe::smoothquant:  // the authors' smooth.py: (a^α / w^(1-α)).clamp(min=1e-5)
      for (int64_t j = 0; j < channels; ++j) s[j] = clamp_min(migration_ratio(a[j], w[j], alpha), 1e-5f);
      return;

    case Recipe::llmcompressor:  // where w == 0 the scale is the activation range itself
      for (int64_t j = 0; j < channels; ++j)
        s[j] = clamp_min(w[j] == 0.0f ? a[j] : migration_ratio(a[j], w[j], alpha), 1e-5f);
      return;

    case Recipe::lmdeploy: {
      // lmdeploy 0.18.0 lite/quantization/awq.py smooth_ln_fcs (lines 187-194): w' = w^(1-α), clamped
      // to 1e-4 everywhere only when min(w') is exactly 0 (all or nothing; torch's min() propagates NaN,
      // and NaN == 0 is false), s = (a^α / w').clamp(min=1e-4), then s / sqrt(max(s[nz]) * min(s[nz]))
      // with the product in fp32, and s = 1 where the norm weight is 0.
      const float beta = numerics::add_rn(1.0f, -alpha);
      // s holds w' between the two passes (one pow per channel; s is the kernel's own output, never an
      // input: the harness passes separate buffers).
      bool w_min_is_zero = false, w_has_nan = false, w_has_negative = false;
      for (int64_t j = 0; j < channels; ++j) {
        const float wp = s[j] = std::pow(w[j], beta);
        w_min_is_zero |= wp == 0.0f;
        w_has_nan |= std::isnan(wp);
        w_has_negative |= wp < 0.0f;
      }
      const bool clamp_w = w_min_is_zero && !w_has_nan && !w_has_negative;
      bool any_nz = false;
      float s_max = 0.0f, s_min = 0.0f;
      for (int64_t j = 0; j < channels; ++j) {
        float wp = s[j];
        if (clamp_w) wp = clamp_min(wp, 1e-4f);
        s[j] = clamp_min(numerics::div_rn(std::pow(a[j], alpha), wp), 1e-4f);
        if (norm_weight && norm_weight[j] == 0.0f) continue;
        if (!any_nz) {
          s_max = s_min = s[j];
          any_nz = true;
        } else {
          s_max = std::fmax(s_max, s[j]);
          s_min = std::fmin(s_min, s[j]);
        }
      }
      const float norm = numerics::sqrt_rn(numerics::mul_rn(s_max, s_min));
      for (int64_t j = 0; j < channels; ++j)
        s[j] = (norm_weight && norm_weight[j] == 0.0f) ? 1.0f : numerics::div_rn(s[j], norm);
      return;
    }
  }
  cpu::fail(kernel, "unknown recipe");
}

}  // namespace smoothcheck::kernels
