// The GEMM ceilings of the CPU suite, from LibTorch: float32 at::mm (OpenBLAS sgemm in Debian's build)
// and LibTorch's int8 linear (quantized::linear_dynamic over quantized::linear_prepack, per-channel
// weight scales, on the oneDNN engine: Debian's LibTorch 1.13 is built without FBGEMM, so
// at::fbgemm_linear_int8_weight throws, and at::_int_mm does not exist in 1.13). Each ceiling runs as
// its own benchmark row just before the kernels of its shape and leaves its ops/s in a table; a kernel
// row reports `frac_torch_f32_mm`, `frac_torch_int8` and `frac_best_library` (against the faster of the
// two). When a filter drops a ceiling row, the kernel measures the ceiling itself, outside its timed loop.
//
// Only torch_gemm_ceilings.cpp includes LibTorch.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace smoothcheck::bench {

// The ceiling rows: time one library GEMM at the benchmark's (M, N, K) and record its ops/s.
void run_torch_f32_mm_ceiling(benchmark::State& st);
void run_torch_int8_linear_ceiling(benchmark::State& st);

// A kernel GEMM row's items processed (2·M·N·K per call) and its fractions of the ceilings of its shape,
// its rate taken over `seconds`, the wall time of its timed loop.
void report_gemm(benchmark::State& st, double seconds, int64_t m, int64_t n, int64_t k);

}  // namespace smoothcheck::bench
