// The PTX instructions the GEMM issues by inline assembly, one function each: cp.async and its group
// commit and wait, and the int8 tensor-core mma. Under SC_CUDA_EMULATION the same functions run on the
// CPU emulation (kernels/cuda_emulation/ptx_emulation.h), which implements each from the PTX ISA.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_common.cuh"

namespace smoothcheck::kernels::cuda_device {

#if defined(SC_CUDA_EMULATION)

inline void cp_async16(void* smem, const void* gmem) { cuda_emulation::cp_async(smem, gmem, 16); }
inline void cp_async_commit() { cuda_emulation::cp_async_commit_group(); }
template <int kPending>
inline void cp_async_wait() {
  cuda_emulation::cp_async_wait_group(kPending);
}
inline void mma_s8(int32_t (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  cuda_emulation::mma_m16n8k32_s8(c, a, b);
}

#else

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// c += a · b for one 16 x 8 x 32 tile. Without .satfinite the int32 sums wrap, as a CPU int32 sum does.
__device__ __forceinline__ void mma_s8(int32_t (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

#endif

}  // namespace smoothcheck::kernels::cuda_device
