// The GEMM ceiling of the CUDA suite: cuBLASLt's int8 GEMM (CUBLAS_COMPUTE_32I, descriptors and
// algorithm chosen once per shape, only cublasLtMatmul timed) at the same shape, run as a ceiling row
// just before the kernels of its shape; kernel rows report `frac_cublaslt_int8`. If a filter drops the
// ceiling row, the kernel measures it itself, outside its timed loop.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

#include "cases/bench/cuda_device_inputs.h"
#include "cases/bench/cuda_event_timer.h"

namespace smoothcheck::bench {

inline constexpr std::size_t kLtWorkspaceBytes = std::size_t(32) << 20;  // what the backend gives cuBLASLt

// Compact int8 operands for cuBLASLt (row stride K) and an int32 output.
struct CompactOperands {
  DeviceBuffer* a;
  DeviceBuffer* b;
  DeviceBuffer* acc;
};
CompactOperands compact_operands(int64_t m, int64_t n, int64_t k);

// The ceiling row at the benchmark's (M, N, K): its rate is recorded as the shape's ceiling.
void run_cublaslt_ceiling(benchmark::State& st, const L2Flusher* flusher);

// A kernel GEMM row's items processed (2·M·N·K per call) and its fraction of the ceiling, its rate taken
// over `seconds`, the summed event times of its timed loop.
void report_gemm(benchmark::State& st, double seconds, int64_t m, int64_t n, int64_t k, const L2Flusher* flusher);

}  // namespace smoothcheck::bench
