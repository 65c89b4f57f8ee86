// Values held as float32 rounded in place to the arithmetic dtype (numerics::round_to: f16/bf16 to
// nearest even, f32 unchanged): the smoothing step stores each result in the model's dtype, as the
// public tools' in-place operations do. A 1.1B model is a billion such roundings, so the AVX2 form
// (dtype_rounding_avx2.cpp, the CPU kernels' conversions) runs where the CPU has it.
#pragma once

#include <cstddef>

#include "kernels/options.h"

namespace smoothcheck::pipeline {

void round_each_to(float* values, std::size_t n, DType t);

// Its AVX2 loop (dtype_rounding_avx2.cpp; a stub that throws on other CPUs): call round_each_to.
void round_each_to_avx2(float* values, std::size_t n, DType t);

}  // namespace smoothcheck::pipeline
