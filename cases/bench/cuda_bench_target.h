// The CUDA suite's KernelBenchTarget: the launchers of kernels/cuda/launchers.h on device buffers (no
// host copies in the timed region), each iteration L2-flushed and timed by CUDA events
// (cuda_event_timer.h, UseManualTime()); rows report `frac_d2d_copy_bw` against the device-to-device
// copy bandwidth measured at start-up, and GEMMs `frac_cublaslt_int8` (cublaslt_ceiling.h). Its GEMM is
// the project's mma.sync kernel on operands padded as the backend lays them out.
#pragma once

#include <memory>

#include "cases/bench/cuda_event_timer.h"
#include "cases/bench/kernel_bench_target.h"

namespace smoothcheck::bench {

// copy_bandwidth: bytes/s, read + write; flusher outlives the target.
std::unique_ptr<KernelBenchTarget> make_cuda_bench_target(const L2Flusher* flusher, double copy_bandwidth);

}  // namespace smoothcheck::bench
