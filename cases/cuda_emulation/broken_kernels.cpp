// Compiled like kernels/cuda/*.cu for the emulation (emulated_names.h force-included, every access
// instrumented): see broken_kernels.h.
#include "cases/cuda_emulation/broken_kernels.h"

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/ptx_ops.cuh"

namespace smoothcheck::cuda_emulation_cases {
namespace {

using namespace kernels::cuda_device;
constexpr int kThreads = 64;

__global__ void shared_store_kernel(float* out, int overrun) {
  SC_SHARED(float[kThreads], buf);
  buf[int(threadIdx.x) + overrun] = float(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = buf[threadIdx.x];
}

__global__ void global_read_kernel(const float* in, float* out, int offset) {
  out[threadIdx.x] = in[int(threadIdx.x) + offset];
}

__global__ void neighbour_kernel(float* out, bool barrier) {
  SC_SHARED(float[kThreads], buf);
  buf[threadIdx.x] = float(threadIdx.x);
  if (barrier) __syncthreads();
  out[threadIdx.x] = buf[(threadIdx.x + 1) % kThreads];
}

__global__ void cp_async_kernel(const float* in, float* out, int wait_group, bool barrier) {
  SC_SHARED_ALIGNED(float[kThreads * 4], buf, 16);
  cp_async16(&buf[threadIdx.x * 4], &in[threadIdx.x * 4]);
  cp_async_commit();
  if (wait_group == 0) cp_async_wait<0>();
  else cp_async_wait<1>();
  if (barrier) __syncthreads();
  out[threadIdx.x] = buf[(threadIdx.x + 1) % kThreads * 4];
}

__global__ void divergent_barrier_kernel(float* out, int exit_below) {
  if (int(threadIdx.x) < exit_below) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void reduce_twice_kernel(const float* in, float* out, bool barrier) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  SC_SHARED(typename Reduce::TempStorage, temp);
  const float v = in[threadIdx.x];
  const float hi = Reduce(temp).Reduce(v, cuda::maximum<>{});
  if (barrier) __syncthreads();
  const float lo = Reduce(temp).Reduce(v, cuda::minimum<>{});
  if (threadIdx.x == 0) {
    out[0] = hi;
    out[1] = lo;
  }
}

// A device array of n floats, initialised to 0, 1, 2, ...
struct DeviceFloats {
  float* p = nullptr;
  int n;
  explicit DeviceFloats(int count) : n(count) {
    SC_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), sizeof(float) * std::size_t(n)));
    std::vector<float> init(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) init[std::size_t(i)] = float(i);
    SC_CUDA_CHECK(cudaMemcpy(p, init.data(), sizeof(float) * std::size_t(n), cudaMemcpyHostToDevice));
  }
  ~DeviceFloats() { cudaFree(p); }
  std::vector<float> host() const {
    std::vector<float> out(static_cast<std::size_t>(n));
    SC_CUDA_CHECK(cudaMemcpy(out.data(), p, sizeof(float) * std::size_t(n), cudaMemcpyDeviceToHost));
    return out;
  }
};

}  // namespace

std::vector<float> shared_store(int overrun) {
  DeviceFloats out(kThreads);
  SC_LAUNCH(1, kThreads, nullptr, shared_store_kernel)(out.p, overrun);
  return out.host();
}
std::vector<float> global_read(int offset) {
  DeviceFloats in(kThreads), out(kThreads);
  SC_LAUNCH(1, kThreads, nullptr, global_read_kernel)(in.p, out.p, offset);
  return out.host();
}
std::vector<float> neighbour_exchange(bool barrier) {
  DeviceFloats out(kThreads);
  SC_LAUNCH(1, kThreads, nullptr, neighbour_kernel)(out.p, barrier);
  return out.host();
}
std::vector<float> cp_async_exchange(int wait_group, bool barrier) {
  DeviceFloats in(kThreads * 4), out(kThreads);
  SC_LAUNCH(1, kThreads, nullptr, cp_async_kernel)(in.p, out.p, wait_group, barrier);
  return out.host();
}
std::vector<float> divergent_barrier(int exit_below) {
  DeviceFloats out(kThreads);
  SC_LAUNCH(1, kThreads, nullptr, divergent_barrier_kernel)(out.p, exit_below);
  return out.host();
}
std::vector<float> reduce_twice(bool barrier) {
  DeviceFloats in(kThreads), out(2);
  SC_LAUNCH(1, kThreads, nullptr, reduce_twice_kernel)(in.p, out.p, barrier);
  return out.host();
}

}  // namespace smoothcheck::cuda_emulation_cases
