// The instruction ceiling of the exact int8 GEMM (kernels/cpu/gemm_s8s8s32_avx2.cpp): how many int16
// multiply-adds per second this machine's cores retire with the one instruction that kernel's products
// come from, vpmaddwd on ymm registers, when nothing else limits it. A register-only loop (inline asm,
// so the compiler can neither fold nor drop it) of independent vpmaddwd chains, run on the backend's
// thread pool (kernels/cpu/parallel_for.h) with the thread count the GEMM gets. The GEMM rows report
// `frac_vpmaddwd`: their 2·M·N·K operations per second over this rate, re-measured right before and
// after their own timed loop (the higher of the two) so that a machine whose load changes during the
// run weighs on both sides alike.
//
// Counting, the same as the GEMM's 2·M·N·K: one ymm vpmaddwd forms 16 int16 x int16 products and adds
// them pairwise into 8 int32 lanes, i.e. 16 multiply-adds = 32 operations. The kernel follows each
// vpmaddwd with a vpaddd into its int32 accumulator, which completes the adds the 2·M·N·K count has;
// it is left out of the ceiling because it is a different, cheaper instruction that the vector unit
// can issue beside the multiplies (Zen 4 has four 256-bit vector ALUs for integer adds, fewer that
// multiply): a kernel that keeps the multiplier busy every cycle, its adds alongside, runs at 1.0.
// Whether the adds do fit beside the multiplies on this machine is measured, not assumed: the row
// `ceiling/vpmaddwd_vpaddd_ymm` runs the same loop with the kernel's add after every multiply (for the
// record; the ratio is taken against vpmaddwd alone).
//
// Only for x86-64 with AVX2 (cpu_supports_avx2()); elsewhere the rows are skipped with that reason.
#pragma once

#include <benchmark/benchmark.h>

namespace smoothcheck::bench {

// Which loop: vpmaddwd alone (the ceiling), or each vpmaddwd followed by the kernel's vpaddd.
enum class MaddLoop { vpmaddwd, vpmaddwd_vpaddd };

// Operations per second (32 per vpmaddwd) of `loop` on `threads` threads over about `seconds` of wall
// time; 0 when this CPU cannot run it.
double measure_vpmaddwd_rate(MaddLoop loop, int threads, double seconds);

// The ceiling rows: items processed = operations (32 per vpmaddwd), on `threads` threads.
void run_vpmaddwd_ceiling(benchmark::State& st, MaddLoop loop, int threads);

}  // namespace smoothcheck::bench
