#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cases/bench/device_fill.h"
#include "kernels/cuda/cuda_check.h"

namespace smoothcheck::bench::device_fill {
namespace {

// splitmix64: one independent 64-bit value per (seed, index), no state shared between threads.
__device__ __forceinline__ uint64_t mix(uint64_t seed, uint64_t i) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in [-1, 1) from 32 bits.
__device__ __forceinline__ float symmetric(uint32_t bits) { return float(int32_t(bits)) * (1.0f / 2147483648.0f); }

constexpr int kBlock = 256;
unsigned grid_for(int64_t n) {
  const int64_t g = (n + kBlock - 1) / kBlock;
  return unsigned(g < 65535 * 16 ? g : 65535 * 16);  // grid-stride loops cover the rest
}

__global__ void fill_float_kernel(void* data, DType dtype, int64_t rows, int64_t cols, int64_t stride, uint64_t seed) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t h = mix(seed, uint64_t(i));
    float v = symmetric(uint32_t(h)) + symmetric(uint32_t(h >> 32));
    if (v == 0.0f) v = 0.5f;
    const int64_t at = (i / cols) * stride + i % cols;
    switch (dtype) {
      case DType::f32:
        static_cast<float*>(data)[at] = v;
        break;
      case DType::f16:
        static_cast<__half*>(data)[at] = __float2half_rn(v);
        break;
      case DType::bf16:
        static_cast<__nv_bfloat16*>(data)[at] = __float2bfloat16_rn(v);
        break;
      default:
        break;
    }
  }
}

__global__ void fill_int8_kernel(int8_t* data, int64_t rows, int64_t cols, int64_t stride, uint64_t seed) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    data[(i / cols) * stride + i % cols] = int8_t(int(mix(seed, uint64_t(i)) % 255) - 127);
}

__global__ void fill_positive_kernel(float* data, int64_t n, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    data[i] = 1.25f + 0.75f * symmetric(uint32_t(mix(seed, uint64_t(i))));
}

__global__ void fill_pow2_kernel(float* s, float* inverse, int64_t n, uint64_t seed) {
  const float powers[4] = {0.25f, 0.5f, 2.0f, 4.0f};
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = powers[mix(seed, uint64_t(i)) % 4];
    s[i] = v;
    inverse[i] = 1.0f / v;  // exact for a power of two
  }
}

}  // namespace

void fill_float(void* data, DType dtype, int64_t rows, int64_t cols, int64_t stride, uint64_t seed,
                cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  fill_float_kernel<<<grid_for(rows * cols), kBlock, 0, stream>>>(data, dtype, rows, cols, stride, seed);
  SC_CUDA_CHECK_LAUNCH("fill_float_kernel");
}
void fill_int8(int8_t* data, int64_t rows, int64_t cols, int64_t stride, uint64_t seed, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  fill_int8_kernel<<<grid_for(rows * cols), kBlock, 0, stream>>>(data, rows, cols, stride, seed);
  SC_CUDA_CHECK_LAUNCH("fill_int8_kernel");
}
void fill_positive(float* data, int64_t n, uint64_t seed, cudaStream_t stream) {
  if (n <= 0) return;
  fill_positive_kernel<<<grid_for(n), kBlock, 0, stream>>>(data, n, seed);
  SC_CUDA_CHECK_LAUNCH("fill_positive_kernel");
}
void fill_power_of_two_pair(float* s, float* inverse, int64_t n, uint64_t seed, cudaStream_t stream) {
  if (n <= 0) return;
  fill_pow2_kernel<<<grid_for(n), kBlock, 0, stream>>>(s, inverse, n, seed);
  SC_CUDA_CHECK_LAUNCH("fill_pow2_kernel");
}

}  // namespace smoothcheck::bench::device_fill
