// Conversions between a checkpoint's stored floats (f16, bf16 or f32 bytes, little-endian, possibly
// unaligned: a tensor in its file's mapping) and the float32 the pipeline computes in, for the
// billion weights of a 1.1B model: widened straight from the mapping (instead of copying each tensor
// out and converting the copy through LibTorch: two passes over memory, and fresh pages to zero), and
// narrowed back into a caller's recycled buffer (LibTorch's conversion ran on one thread, into a fresh
// tensor per linear).
//
// Both are numerics.h's conversions element by element, or their F16C / bit-shift forms (the CPU
// kernels', dtype_io_avx2.h) where the CPU has AVX2, FMA and F16C; the tests hold the two to the same
// bits on every 16-bit pattern. Widening is exact (a signalling f16 NaN comes back quiet, as vcvtph2ps
// makes it); narrowing rounds to nearest, ties to even, and keeps a NaN a quiet NaN.
#pragma once

#include <cstddef>

#include "kernels/options.h"

namespace smoothcheck::pipeline {

// stored holds n elements of t (f16, bf16 or f32; std::invalid_argument otherwise).
void widen_to_f32(const void* stored, DType t, std::size_t n, float* out);
// out receives n elements of t (f16, bf16 or f32; std::invalid_argument otherwise).
void narrow_from_f32(const float* values, std::size_t n, DType t, void* out);

// The two loops behind each: widen_to_f32 and narrow_from_f32 take the AVX2 one where the CPU has it
// (float_conversion_avx2.cpp; a stub that throws on other CPUs). Exposed for the tests.
void widen_to_f32_scalar(const void* stored, DType t, std::size_t n, float* out);
void widen_to_f32_avx2(const void* stored, DType t, std::size_t n, float* out);
void narrow_from_f32_scalar(const float* values, std::size_t n, DType t, void* out);
void narrow_from_f32_avx2(const float* values, std::size_t n, DType t, void* out);

}  // namespace smoothcheck::pipeline
