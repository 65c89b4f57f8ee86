// What the kernel benchmark table (kernel_benchmark_table.h) needs of one backend, so that the CPU and
// the CUDA suites time the same kernels on the same shapes with the same counters from one description:
//   - buffers in the memory the backend's kernels read (host for the CPU, device for CUDA), generated
//     once per (role, dtype, element count) and reused by every run of a benchmark function;
//   - each kernel's timed call, prepared outside the timed loop (the CUDA suite computes migration
//     reciprocals, allocates scratch and plans its GEMM there, so that only the launches are timed);
//   - the timed loop and the counters of the backend's own ceilings (the CPU's copy bandwidth and
//     LibTorch GEMMs measured in the same run; CUDA-event times, the device copy and cuBLASLt).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>

#include "kernels/kernel_api.h"
#include "kernels/options.h"

namespace smoothcheck::bench {

class KernelBenchTarget {
 public:
  using Call = std::function<void()>;
  virtual ~KernelBenchTarget() = default;

  // rows x cols floats of dtype, bell-shaped in (-2, 2) and never zero (host_buffer.h, device_fill.h).
  virtual void* bell_floats(const char* role, DType dtype, int64_t rows, int64_t cols, uint64_t seed) = 0;
  // count float32 values in [0.5, 2): statistics and scales.
  virtual float* positive_floats(const char* role, int64_t count, uint64_t seed) = 0;
  // count powers of two, then their count exact reciprocals: in-place kernels alternate the two halves so
  // that a buffer reused for many iterations never drifts.
  virtual float* power_of_two_pairs(const char* role, int64_t count, uint64_t seed) = 0;
  // count elements of dtype, zeroed once (every page touched before any timed iteration).
  virtual void* zeroed_output(const char* role, DType dtype, int64_t count) = 0;
  // The RMSNorm weight [channels] as this backend's kernel reads it: the CPU backend takes it in the
  // activation's dtype, the CUDA launcher in f32 (its backend converts it on the host).
  virtual kernels::ConstVector norm_weight(DType activation, int64_t channels, uint64_t seed) = 0;

  // The timed calls, one per kernel of kernel_api.h (arithmetic f32 for the smoothing statistics).
  virtual Call channel_stats(kernels::ConstMatrix x, kernels::ChannelStatsOut out) = 0;
  virtual Call weight_stat(kernels::ConstMatrix fc, Recipe recipe, float* w) = 0;
  virtual Call smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                            float alpha, float* s) = 0;
  virtual Call scale_columns(kernels::MutMatrix w, const float* s) = 0;
  virtual Call divide_rows(kernels::MutMatrix w, const float* s) = 0;
  virtual Call divide_vector(kernels::MutVector v, const float* s) = 0;
  virtual Call quantize_weight(kernels::ConstMatrix w, WeightQuant variant, kernels::MutMatrix q, float* scale) = 0;
  virtual Call quantize_per_token(kernels::ConstMatrix x, const float* migration_scale, const ActQuantOptions& o,
                                  kernels::MutMatrix q, float* scale) = 0;
  virtual Call quantize_per_tensor(kernels::ConstMatrix x, float scale, const ActQuantOptions& o,
                                   kernels::MutMatrix q) = 0;
  virtual Call rmsnorm_quantize(kernels::ConstMatrix x, kernels::ConstVector norm_w, float eps,
                                const ActQuantOptions& o, kernels::MutMatrix q, float* scale) = 0;
  // out [M, N]: i32 for gemm_s8s8s32, else gemm_w8a8 into that dtype with `epilogue` and no bias. The
  // int8 operands a [M, K] and b [N, K] (codes from seeds a_seed, b_seed) are laid out as the backend's
  // GEMM engine reads them. prepacked: b packed once here (Backend::pack_gemm_weight), the call then
  // gemm_*_packed; a target without packed weights throws KernelError.
  virtual Call gemm(int64_t m, int64_t n, int64_t k, uint64_t a_seed, uint64_t b_seed, const float* scale_a,
                    const float* scale_b, Epilogue epilogue, kernels::MutMatrix out, bool prepacked) = 0;

  // Runs `call` as the benchmark's timed loop, then sets bytes processed (read + written per call) and
  // the fractions of the backend's bandwidth ceiling.
  virtual void time_bandwidth(benchmark::State& st, const Call& call, double bytes_per_call) = 0;
  // The same for a GEMM: items processed (2·M·N·K per call) and the fractions of the GEMM ceilings.
  virtual void time_gemm(benchmark::State& st, const Call& call, int64_t m, int64_t n, int64_t k) = 0;
};

}  // namespace smoothcheck::bench
