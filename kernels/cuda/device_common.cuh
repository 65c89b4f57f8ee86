// Device helpers shared by the kernels: element types read and written through numerics.h's exact
// conversions (so a CUDA f16/bf16 value is the CPU's bit for bit), rows walked with 16-byte vector
// loads split by launch_plan.h's split_row, and a block-wide maximum.
//
// The same source also compiles as host C++ for the CPU emulation (SC_CUDA_EMULATION): then
// kernels/cuda_emulation/device_runtime.h supplies CUDA's built-ins, and the two spellings below that
// differ from CUDA's own are defined there instead. Under nvcc they expand to exactly the CUDA syntax,
// so the device code is unchanged (scripts/cuda_device_fingerprint.sh compares the cubins).
#pragma once

#if defined(SC_CUDA_EMULATION)
#include "kernels/cuda_emulation/device_runtime.h"
#else
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>
#include <cuda/functional>

// kernel<<<grid, block, 0, stream>>>(args) is written SC_LAUNCH(grid, block, stream, kernel)(args).
#define SC_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<grid, block, 0, stream>>>
// `__shared__ type name;` is written SC_SHARED(type, name), array types included.
template <class T>
using sc_shared_type = T;
#define SC_SHARED(type, name) __shared__ sc_shared_type<type> name
#define SC_SHARED_ALIGNED(type, name, alignment) __shared__ __align__(alignment) sc_shared_type<type> name
#endif

#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch_plan.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels::cuda_device {

namespace nx = ::smoothcheck::numerics;
namespace plan = ::smoothcheck::kernels::cuda_plan;

struct F32 {
  using Storage = float;
  static __device__ __forceinline__ float load(float v) { return v; }
  static __device__ __forceinline__ float store(float v) { return v; }
};
struct F16 {
  using Storage = uint16_t;
  static __device__ __forceinline__ float load(uint16_t v) { return nx::f16_to_float(v); }
  static __device__ __forceinline__ uint16_t store(float v) { return nx::float_to_f16(v); }
};
struct BF16 {
  using Storage = uint16_t;
  static __device__ __forceinline__ float load(uint16_t v) { return nx::bf16_to_float(v); }
  static __device__ __forceinline__ uint16_t store(float v) { return nx::float_to_bf16(v); }
};

// Rounds an f32 value to the element type and back (exact for F32).
template <class E>
__device__ __forceinline__ float round_to(float v) {
  return E::load(E::store(v));
}

// Calls f(j, value) for every element j of the row, each exactly once, split among the block's
// threads: scalar head up to a 16-byte boundary, 16-byte vectors, scalar tail.
template <class E, class F>
__device__ __forceinline__ void for_each_in_row(const typename E::Storage* row, int64_t cols, F&& f) {
  using S = typename E::Storage;
  constexpr int kPer = plan::kVectorBytes / int(sizeof(S));
  const plan::RowSplit split = plan::split_row(reinterpret_cast<uint64_t>(row), cols, int(sizeof(S)));
  for (int64_t j = threadIdx.x; j < split.head; j += blockDim.x) f(j, E::load(row[j]));
  const uint4* body = reinterpret_cast<const uint4*>(row + split.head);
  for (int64_t v = threadIdx.x; v < split.vectors; v += blockDim.x) {
    uint4 raw = body[v];
    S elems[kPer];
    memcpy(elems, &raw, sizeof raw);
    const int64_t j0 = split.head + v * kPer;
#pragma unroll
    for (int k = 0; k < kPer; ++k) f(j0 + k, E::load(elems[k]));
  }
  const int64_t tail0 = split.head + split.vectors * kPer;
  for (int64_t j = tail0 + threadIdx.x; j < cols; j += blockDim.x) f(j, E::load(row[j]));
}

// Block-wide maximum of non-negative values (absmax): every thread gets the result.
template <int kBlock>
__device__ __forceinline__ float block_max_broadcast(float v) {
  using Reduce = cub::BlockReduce<float, kBlock>;
  SC_SHARED(typename Reduce::TempStorage, temp);
  SC_SHARED(float, result);
  float m = Reduce(temp).Reduce(v, cuda::maximum<>{});
  if (threadIdx.x == 0) result = m;
  __syncthreads();
  float out = result;
  __syncthreads();  // temp and result are reused by the next row of a grid-stride loop
  return out;
}

template <class E>
__device__ __forceinline__ const typename E::Storage* row_ptr(const void* base, int64_t stride, int64_t r) {
  return static_cast<const typename E::Storage*>(base) + r * stride;
}
template <class E>
__device__ __forceinline__ typename E::Storage* row_ptr(void* base, int64_t stride, int64_t r) {
  return static_cast<typename E::Storage*>(base) + r * stride;
}

}  // namespace smoothcheck::kernels::cuda_device

// Host-side dispatch of a float dtype to one of the element types; anything else is a KernelError.
#define SC_DISPATCH_FLOAT_DTYPE(dtype, what, E, ...)                                               \
  switch (dtype) {                                                                                 \
    case ::smoothcheck::DType::f32: {                                                              \
      using E = ::smoothcheck::kernels::cuda_device::F32;                                          \
      __VA_ARGS__;                                                                                 \
      break;                                                                                       \
    }                                                                                              \
    case ::smoothcheck::DType::f16: {                                                              \
      using E = ::smoothcheck::kernels::cuda_device::F16;                                          \
      __VA_ARGS__;                                                                                 \
      break;                                                                                       \
    }                                                                                              \
    case ::smoothcheck::DType::bf16: {                                                             \
      using E = ::smoothcheck::kernels::cuda_device::BF16;                                         \
      __VA_ARGS__;                                                                                 \
      break;                                                                                       \
    }                                                                                              \
    default:                                                                                       \
      throw ::smoothcheck::kernels::KernelError(std::string(what) + ": dtype " +                   \
                                                ::smoothcheck::to_string(dtype) +                  \
                                                " not supported (f32, f16, bf16)");                \
  }
