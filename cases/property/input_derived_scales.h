// The int8 scales a property expects, derived from the kernel's INPUT by the named formula
// (numerics.md §5-6), never taken from the kernel's output: a kernel whose scales and codes are wrong
// but consistent with each other (absmax/63 with codes to match) must not be judged by its own scales.
//
// A kernel's f32 scale may differ from the float64 formula by its f32 roundings only, at most
// kScaleRoundings of them (relative u32 each), plus what an f32 subnormal loses:
//  - per token, plain: the row absmax is exact in f32 (a selection of input values), the floor is an
//    f32 value; one rounding of absmax/127 (kernels/numerics.h row_scale_from_absmax);
//  - per token, migration: x·fl(1/s) rounds twice per element, so the absmax is within (1+u)² of
//    max|x/s|; with the division, (1+u)³ − 1 < 3u + 4u²;
//  - weights: one rounding of the division, and for smoothquant the f32 constant 1e-5f (one more);
// so 4 u32 covers every path with room for the u² terms.
#pragma once

#include <cstdint>

#include "cases/property/step_runner.h"
#include "kernels/options.h"

namespace smoothcheck::property {

inline constexpr double kScaleRoundings = 4.0;

// scale_t = max_c |x[t,c] / s_c| / 127 (s_c = 1 without a migration scale), the row maximum first
// raised to the options' floor under ZeroRow::floor; an all-zero row under ZeroRow::zero_scale has
// scale 0. Follows reference/quantize_per_token.cpp (TensorRT-LLM's and lmdeploy Triton's floors,
// vLLM's zero reciprocal).
Vector per_token_scales_from_input(const Matrix& x, const Vector& migration_scale, const ActQuantOptions& options);

// scale_r per the variant, from max_c |w[r,c]| (reference/quantize_weight.cpp):
//   lmdeploy            absmax/127                    (QLinear.from_float, no epsilon)
//   smoothquant         max(absmax, 1e-5)/127         (the authors' quantize_weight_per_channel_absmax)
//   compressed_tensors  max(absmax/127.5, FLT_EPSILON) (calculate_qparams)
// For a bf16/f16 weight under smoothquant and compressed_tensors, which divide in the weight's dtype,
// the formula with each step rounded to it (reference::quantize_weight_stepwise).
Vector weight_scales_from_input(const Matrix& w, WeightQuant variant, DType dtype);

// How far a kernel's f32 scale may lie from the derived one: kScaleRoundings·u32·derived, plus two
// f32 subnormal roundings (an underflowing x·(1/s), then the division).
double scale_tolerance(double derived);

// RC_ASSERTs |kernel − derived| ≤ scale_tolerance(derived) for every row, logging the first row off.
void assert_scales_agree(const Vector& kernel, const Vector& derived, const char* what);

}  // namespace smoothcheck::property
