// Seeded tensor generators: the distributions that reach the edges of smoothing and int8 quantisation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/options.h"

namespace smoothcheck {

enum class Distribution {
  normal,            // N(0, 1)
  uniform,           // U(-1, 1)
  outlier_channels,  // N(0, 1) with a few fixed channels 50-100x larger, as in LLM activations (SmoothQuant Fig. 4)
  heavy_tail,        // log-normal magnitudes, random signs: rare values orders of magnitude above the rest
  zero_rows,         // every other row all zero (a single-row tensor is all zero)
  constant_rows,     // each row one repeated value
  midpoints,         // per row: one element +-127 * 2^e, every other (k + 0.5) * 2^e, so x / scale lands exactly on ties
  near_saturation,   // magnitudes just below and at each row's absmax, both signs
  one_signed,        // rows alternately all positive and all negative (symmetric-quant sign bugs)
};

const char* to_string(Distribution d);
std::vector<Distribution> all_distributions();

// rows x cols values, each exactly representable in dtype (f32, f16, bf16 or f64), row-major.
// Deterministic for (rows, cols, distribution, seed, dtype). Element (0, 0) is non-zero unless the
// distribution makes the whole tensor zero (CUTLASS forces a non-zero element so that an all-zero
// output cannot pass).
std::vector<double> generate_matrix(int64_t rows, int64_t cols, Distribution d, uint64_t seed, DType dtype);

// Whether generate_matrix may return an all-zero tensor for this shape (then "not all zero" checks are off).
bool may_be_all_zero(Distribution d, int64_t rows);

// Rounds value to the nearest value of dtype (f32/f16/bf16/f64) through the kernels' f32 conversions.
double representable(double value, DType dtype);

// Positive per-channel scales (smoothing or migration): log-uniform in [2^-4, 2^4]; with
// powers_of_two, exact powers of two so that x / s and x * (1/s) are exact.
std::vector<double> generate_positive_scales(int64_t size, uint64_t seed, bool powers_of_two);

// Seed for one tensor of one case: mixes the case seed with a tensor tag so inputs are independent.
uint64_t derive_seed(uint64_t case_seed, const std::string& tensor_tag);

}  // namespace smoothcheck
