// Kernel-only timing for the CUDA benchmarks (cudf's cuda_event_timer, nvbench's L2 flush): before each
// timed iteration the L2 cache is flushed by writing a buffer larger than it, so every iteration reads
// its inputs from HBM as the first touch in a model's forward pass would; then a pair of CUDA events
// brackets the work on the stream and the elapsed GPU time goes to State::SetIterationTime (the
// benchmark must use UseManualTime()). The flush is enqueued before the start event: it is not timed,
// and it keeps the GPU busy while the host enqueues the kernel, so launch latency is not timed either.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"

namespace smoothcheck::bench {

class L2Flusher {
 public:
  // At least 256 MiB and at least twice the device's L2 (50 MiB on an H100).
  explicit L2Flusher(int device) {
    int l2 = 0;
    SC_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
    buffer_ = kernels::cuda_detail::DeviceBuffer(std::max<std::size_t>(std::size_t(256) << 20, 2 * std::size_t(l2)));
  }
  void flush(cudaStream_t stream) const { SC_CUDA_CHECK(cudaMemsetAsync(buffer_.data(), 0, buffer_.bytes(), stream)); }
  std::size_t bytes() const { return buffer_.bytes(); }

 private:
  kernels::cuda_detail::DeviceBuffer buffer_;
};

// RAII: construction flushes (optionally) and records the start; destruction records the stop, waits
// for it and reports the elapsed seconds as this iteration's time.
class CudaEventTimer {
 public:
  // total_seconds (optional) accumulates the same elapsed times, for a benchmark that needs its own rate.
  CudaEventTimer(benchmark::State& state, const L2Flusher* flusher, cudaStream_t stream,
                 double* total_seconds = nullptr)
      : state_(state), stream_(stream), total_seconds_(total_seconds) {
    if (flusher) flusher->flush(stream_);
    SC_CUDA_CHECK(cudaEventCreate(&start_));
    SC_CUDA_CHECK(cudaEventCreate(&stop_));
    SC_CUDA_CHECK(cudaEventRecord(start_, stream_));
  }
  ~CudaEventTimer() {
    // A destructor must not throw: a failure becomes the benchmark's error instead.
    float ms = 0.0f;
    cudaError_t e = cudaEventRecord(stop_, stream_);
    if (e == cudaSuccess) e = cudaEventSynchronize(stop_);
    if (e == cudaSuccess) e = cudaEventElapsedTime(&ms, start_, stop_);
    if (e == cudaSuccess) {
      state_.SetIterationTime(double(ms) * 1e-3);
      if (total_seconds_) *total_seconds_ += double(ms) * 1e-3;
    } else {
      state_.SetIterationTime(1.0);
      state_.SkipWithError((std::string("CUDA event timing failed: ") + cudaGetErrorString(e)).c_str());
    }
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  CudaEventTimer(const CudaEventTimer&) = delete;
  CudaEventTimer& operator=(const CudaEventTimer&) = delete;

 private:
  benchmark::State& state_;
  cudaStream_t stream_;
  double* total_seconds_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace smoothcheck::bench
