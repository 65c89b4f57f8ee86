// Generators of inputs whose answer is decided by one named option alone: values on which the two f32
// formulas of x / scale (ScaleMath) give different int8 codes, and RMSNorm rows whose normalised
// values land exactly on k + 0.5 (so the rounding rule alone decides the code). The comparisons can then
// use zero allowance, and a kernel that ignores or swaps the option fails.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/options.h"

namespace smoothcheck {

// f32 values x with |x| <= limit for which fl(x / scale) and fl(x * reciprocal) (scale and reciprocal
// f32) round to different integers under both half_even and half_away: each lies next to a midpoint
// k + 0.5 that the two formulas' results straddle. Deterministic for the arguments. Returns fewer than
// count values (often none) when the pair's roundings nearly cancel: then draw another scale.
std::vector<double> scale_math_split_values(double scale, double reciprocal, double limit, int64_t count,
                                            uint64_t seed);

// Whether fl(x / scale) and fl(x * reciprocal) give different integers under rounding (the check the
// generator applies; cases count such elements to show their rows discriminate).
bool scale_math_splits(double x, double scale, double reciprocal, Rounding rounding);

// rows x cols values exact in dtype (cols >= 40) such that, with eps = 0 and norm weight 1, RMSNorm is
// exact in f32: each row's mean square is 4^J * 4^e (so 1 / sqrt is a power of two), every value is
// v * 2^e with v an integer or k + 0.5, and the row absmax is 127 * 2^e, so y / scale = v exactly and
// about half of each row are ties.
std::vector<double> rmsnorm_tie_rows(int64_t rows, int64_t cols, uint64_t seed, DType dtype);

// As rmsnorm_tie_rows, but each row's absmax is A * 2^e with A odd, below 127, chosen so that y / scale at
// the row's many values +-A/2 * 2^e (exactly 63.5 in exact arithmetic) is put on different sides of the tie
// by fl(y / fl(scale)) and fl(y * fl(127 / absmax)): the rows tell ScaleMath's two formulas apart.
std::vector<double> rmsnorm_scale_math_rows(int64_t rows, int64_t cols, uint64_t seed, DType dtype);

}  // namespace smoothcheck
