// verify's re-derivation of one row of an lmdeploy-quantised linear in a float16 or bfloat16 model, in
// AVX2 (issue 18: verify at memory speed). It computes what reference::quantize_weight_stepwise computes
// for that recipe, step by step with the same roundings, eight lanes at a time:
//   w·s          the exact product rounded once to the model's dtype (through f32 rounded to odd)
//   ÷ d          (a fused fc -> fc row) correctly rounded in f32, then to the model's dtype
//   scale        f32(absmax / 127)                          (lmdeploy QLinear.from_float, in float32)
//   code         round-half-even(f32(w_s / scale)), saturated to int8 (by the reciprocal where that
//                provably gives the same code, else by the division)
// and says only whether the stored scale and codes are exactly those. Anything else (a stored number
// that differs, a row whose absmax is zero or not finite) goes back to the reference, which then decides
// and words the failure: this path can confirm an export, never condemn one. rederived_weights.cpp
// also re-runs the reference on a sample of the rows this path confirmed and stops on any disagreement.
#pragma once

#include <cstdint>

#include "kernels/options.h"

namespace smoothcheck::pipeline {

// True when this CPU has AVX2, FMA and F16C, and the recipe is one this path computes: the lmdeploy
// weight variant with smoothing rounded to f16 or bf16.
bool vectorized_rederivation_available(WeightQuant variant, DType arithmetic);

// One row: w and s (cols values, the original row in float32 and the migration scale), d the fused row
// divisor or 1 (no division when has_divisor is false), stored_codes and stored_scale as exported.
// work holds cols floats of scratch. Returns true when the stored row is exactly the recipe's.
bool row_matches_lmdeploy_recipe(const float* w, const float* s, bool has_divisor, float d, DType arithmetic,
                                 const int8_t* stored_codes, float stored_scale, int64_t cols, float* work);

}  // namespace smoothcheck::pipeline
