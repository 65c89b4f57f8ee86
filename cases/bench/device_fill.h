// Device-side fills for the CUDA benchmarks: inputs generated where they live, so a 45 M-element
// tensor costs microseconds instead of a host fill and a PCIe copy each time Google Benchmark re-runs
// a benchmark function. Values are a hash of (seed, index): deterministic, finite, never denormal.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/options.h"

namespace smoothcheck::bench::device_fill {

// rows x cols float elements (f32/f16/bf16) at row stride `stride`, roughly bell-shaped in (-2, 2),
// never zero. Padding between rows is left as it is.
void fill_float(void* data, DType dtype, int64_t rows, int64_t cols, int64_t stride, uint64_t seed,
                cudaStream_t stream);
// rows x cols int8 codes uniform in [-127, 127] at row stride `stride`.
void fill_int8(int8_t* data, int64_t rows, int64_t cols, int64_t stride, uint64_t seed, cudaStream_t stream);
// n float32 values in [0.5, 2): statistics and scales.
void fill_positive(float* data, int64_t n, uint64_t seed, cudaStream_t stream);
// n powers of two (1/4, 1/2, 2, 4) in s and their exact reciprocals in inverse: the in-place smoothing
// kernels alternate the two so that a buffer reused for many iterations never drifts.
void fill_power_of_two_pair(float* s, float* inverse, int64_t n, uint64_t seed, cudaStream_t stream);

}  // namespace smoothcheck::bench::device_fill
