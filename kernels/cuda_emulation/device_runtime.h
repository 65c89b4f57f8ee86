// The portability layer that lets kernels/cuda/*.cu compile as host C++ for the CPU emulation
// (SC_CUDA_EMULATION; included by kernels/cuda/device_common.cuh instead of the CUDA headers):
// CUDA's qualifiers and built-in variables, __syncthreads and the warp shuffles on the block
// scheduler, the launch and __shared__ macros the kernels use (device_common.cuh defines their CUDA
// spellings), and stand-ins for the two CUB/libcu++ pieces the kernels use (cub::BlockReduce,
// cuda::maximum / minimum) with the same contracts. Nothing here is compiled by nvcc.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda_emulation/block_scheduler.h"
#include "kernels/cuda_emulation/cuda_runtime.h"
#include "kernels/cuda_emulation/memory_checker.h"
#include "kernels/cuda_emulation/ptx_emulation.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

#define threadIdx (::smoothcheck::cuda_emulation::current_thread_index())
#define blockIdx (::smoothcheck::cuda_emulation::current_block_index())
#define blockDim (::smoothcheck::cuda_emulation::current_block_dim())
#define gridDim (::smoothcheck::cuda_emulation::current_grid_dim())

inline void __syncthreads() { ::smoothcheck::cuda_emulation::sync_block(); }

// The correctly rounded arithmetic intrinsics: IEEE operations on the host, which the emulated
// backend compiles with -ffp-contract=off so that none is fused except the one named fma.
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
// FFMA: a * b + c rounded once; std::fmaf is IEEE fusedMultiplyAdd (glibc's is correctly rounded).
inline float __fmaf_rn(float a, float b, float c) { return std::fmaf(a, b, c); }
[[noreturn]] inline void __trap() { ::smoothcheck::cuda_emulation::report("__trap()"); }

namespace smoothcheck::cuda_emulation {

template <class T>
using identity_t = T;

template <class T>
T shuffle(const char* what, unsigned mask, T v, int width, int (*source)(int lane, int arg), int arg) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
  if (mask != 0xffffffffu || width != 32)
    report(std::string(what) + " with a partial mask or width is not emulated (the kernels use whole warps)");
  T all[32];
  warp_exchange(what, &v, sizeof(T), all);
  const int src = source(current_thread().lane, arg);
  return src < 0 ? v : all[src];
}

// A kernel launch: its parameters are copied once, as the launch copies them to the device, and every
// thread gets them by value.
template <class... Params>
struct KernelLaunch {
  const char* name;
  dim3 grid, block;
  void (*kernel)(Params...);
  template <class... Args>
  void operator()(Args&&... args) const {
    const std::tuple<std::decay_t<Params>...> parameters(std::forward<Args>(args)...);
    run_grid(name, grid, block, [&] { std::apply(kernel, parameters); });
  }
};
template <class... Params>
KernelLaunch<Params...> launch(const char* name, dim3 grid, dim3 block, emulated_cuda_api::cudaStream_t,
                               void (*kernel)(Params...)) {
  return {name, grid, block, kernel};
}

}  // namespace smoothcheck::cuda_emulation

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  return ::smoothcheck::cuda_emulation::shuffle(
      "__shfl_sync", mask, v, width, [](int, int src) { return src & 31; }, src_lane);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return ::smoothcheck::cuda_emulation::shuffle(
      "__shfl_down_sync", mask, v, width, [](int lane, int d) { return lane + d < 32 ? lane + d : -1; }, int(delta));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return ::smoothcheck::cuda_emulation::shuffle(
      "__shfl_xor_sync", mask, v, width, [](int lane, int m) { return (lane ^ m) & 31; }, lane_mask);
}

// kernel<<<grid, block, 0, stream>>>(args) is spelled SC_LAUNCH(grid, block, stream, kernel)(args).
#define SC_LAUNCH(grid, block, stream, ...) \
  ::smoothcheck::cuda_emulation::launch(#__VA_ARGS__, grid, block, stream, &__VA_ARGS__)

// `__shared__ type name;` is spelled SC_SHARED(type, name) (array types allowed): here, storage in
// the block's shared-memory arena, found again by every thread of the block through the address of a
// static unique to the declaration site and template instantiation.
#define SC_SHARED_ALIGNED(type, name, alignment)                                                     \
  static const char name##_declaration_site = 0;                                                     \
  auto& name = *static_cast<::smoothcheck::cuda_emulation::identity_t<type>*>(                       \
      ::smoothcheck::cuda_emulation::shared_variable(&name##_declaration_site, sizeof(type),         \
                                                     alignof(type) > (alignment) ? alignof(type) : (alignment), #name))
#define SC_SHARED(type, name) SC_SHARED_ALIGNED(type, name, 1)

// CUB's block reduction, with CUB's contract: the aggregate is valid in thread 0 only, and the
// TempStorage may be reused only after a __syncthreads (the memory checker reports a reuse without
// one as a race, where CUB would silently compute garbage).
namespace cub {
template <class T, int kBlockThreads>
class BlockReduce {
 public:
  struct TempStorage {
    T partial[kBlockThreads];
  };
  explicit BlockReduce(TempStorage& storage) : storage_(storage) {}
  template <class Op>
  T Reduce(T value, Op op) {
    const int tid = ::smoothcheck::cuda_emulation::current_thread().linear;
    storage_.partial[tid] = value;
    __syncthreads();
    if (tid != 0) return value;
    T aggregate = storage_.partial[0];
    for (int i = 1; i < kBlockThreads; ++i) aggregate = op(aggregate, storage_.partial[i]);
    return aggregate;
  }

 private:
  TempStorage& storage_;
};
}  // namespace cub

// libcu++'s function objects, as <cuda/functional> defines them.
namespace cuda {
template <class T = void>
struct maximum {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return a < b ? b : a;
  }
};
template <class T = void>
struct minimum {
  template <class A, class B>
  auto operator()(const A& a, const B& b) const {
    return b < a ? b : a;
  }
};
}  // namespace cuda
