#include "cases/bench/vpmaddwd_ceiling.h"

#include <chrono>
#include <cstdint>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::bench {
namespace {

constexpr int64_t kMaddsPerIteration = 12;      // the unrolled loop body below
constexpr double kOpsPerMadd = 32.0;            // 16 multiply-adds per ymm vpmaddwd (the header says why)
constexpr int64_t kIterationsPerChunk = 1 << 20;  // ~2-3 ms per chunk: the pool's wake-up is noise beside it
constexpr int kChunksPerThread = 4;               // as parallel_for hands out: a descheduled thread costs one chunk

// The loops are inline asm so that the compiler can neither fold the constant operands nor drop the
// unused results, and compile without -mavx2 (this file is built with LibTorch's flags, not the
// kernels'); they run only when cpu_supports_avx2(). vzeroupper leaves no dirty upper halves behind for
// the SSE code around them.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Twelve independent chains ymm0..ymm11, each vpmaddwd reading its own previous result: with vpmaddwd's
// latency of a few cycles, twelve chains keep more multiplies in flight than the vector unit can start
// per cycle, so the loop measures throughput, not latency.
void vpmaddwd_chains(int64_t iterations) {
  asm volatile(
      "vpcmpeqd %%ymm12, %%ymm12, %%ymm12\n\t"
      "vpabsw %%ymm12, %%ymm13\n\t"
      "vmovdqa %%ymm13, %%ymm0\n\t"
      "vmovdqa %%ymm13, %%ymm1\n\t"
      "vmovdqa %%ymm13, %%ymm2\n\t"
      "vmovdqa %%ymm13, %%ymm3\n\t"
      "vmovdqa %%ymm13, %%ymm4\n\t"
      "vmovdqa %%ymm13, %%ymm5\n\t"
      "vmovdqa %%ymm13, %%ymm6\n\t"
      "vmovdqa %%ymm13, %%ymm7\n\t"
      "vmovdqa %%ymm13, %%ymm8\n\t"
      "vmovdqa %%ymm13, %%ymm9\n\t"
      "vmovdqa %%ymm13, %%ymm10\n\t"
      "vmovdqa %%ymm13, %%ymm11\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm12, %%ymm0, %%ymm0\n\t"
      "vpmaddwd %%ymm12, %%ymm1, %%ymm1\n\t"
      "vpmaddwd %%ymm12, %%ymm2, %%ymm2\n\t"
      "vpmaddwd %%ymm12, %%ymm3, %%ymm3\n\t"
      "vpmaddwd %%ymm12, %%ymm4, %%ymm4\n\t"
      "vpmaddwd %%ymm12, %%ymm5, %%ymm5\n\t"
      "vpmaddwd %%ymm12, %%ymm6, %%ymm6\n\t"
      "vpmaddwd %%ymm12, %%ymm7, %%ymm7\n\t"
      "vpmaddwd %%ymm12, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm12, %%ymm9, %%ymm9\n\t"
      "vpmaddwd %%ymm12, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm12, %%ymm11, %%ymm11\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : [n] "+r"(iterations)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "cc");
}

// The microkernel's pattern: products of two fixed registers (its broadcast a pair and b vector), each
// added by vpaddd into one of twelve accumulators ymm0..ymm11 (the products need no chain of their own:
// the kernel's do not either).
void vpmaddwd_vpaddd(int64_t iterations) {
#define SMOOTHCHECK_MADD_ADD(acc, tmp) \
  "vpmaddwd %%ymm15, %%ymm14, %%ymm" #tmp "\n\t" \
  "vpaddd %%ymm" #tmp ", %%ymm" #acc ", %%ymm" #acc "\n\t"
  asm volatile(
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpabsw %%ymm14, %%ymm15\n\t"
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "1:\n\t"
      SMOOTHCHECK_MADD_ADD(0, 12) SMOOTHCHECK_MADD_ADD(1, 13) SMOOTHCHECK_MADD_ADD(2, 12)
      SMOOTHCHECK_MADD_ADD(3, 13) SMOOTHCHECK_MADD_ADD(4, 12) SMOOTHCHECK_MADD_ADD(5, 13)
      SMOOTHCHECK_MADD_ADD(6, 12) SMOOTHCHECK_MADD_ADD(7, 13) SMOOTHCHECK_MADD_ADD(8, 12)
      SMOOTHCHECK_MADD_ADD(9, 13) SMOOTHCHECK_MADD_ADD(10, 12) SMOOTHCHECK_MADD_ADD(11, 13)
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : [n] "+r"(iterations)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
#undef SMOOTHCHECK_MADD_ADD
}
constexpr bool kHaveLoops = true;
#else
void vpmaddwd_chains(int64_t) {}
void vpmaddwd_vpaddd(int64_t) {}
constexpr bool kHaveLoops = false;
#endif

bool can_run() { return kHaveLoops && kernels::cpu_supports_avx2(); }

// One pass: kChunksPerThread chunks per thread on the backend's pool; returns the operations done.
double one_pass(MaddLoop loop, int threads) {
  const int64_t chunks = int64_t(kChunksPerThread) * threads;
  kernels::cpu::parallel_for(chunks, 1, threads, [loop](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      if (loop == MaddLoop::vpmaddwd) vpmaddwd_chains(kIterationsPerChunk);
      else vpmaddwd_vpaddd(kIterationsPerChunk);
    }
  });
  return double(chunks) * double(kIterationsPerChunk) * double(kMaddsPerIteration) * kOpsPerMadd;
}

}  // namespace

double measure_vpmaddwd_rate(MaddLoop loop, int threads, double seconds) {
  if (!can_run()) return 0.0;
  one_pass(loop, threads);  // wakes the pool's workers and the clock
  double ops = 0.0, elapsed = 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    ops += one_pass(loop, threads);
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  return ops / elapsed;
}

void run_vpmaddwd_ceiling(benchmark::State& st, MaddLoop loop, int threads) {
  if (!can_run()) {
    st.SkipWithError("no AVX2 on this CPU (or not x86-64): no vpmaddwd ceiling");
    for (auto _ : st) {
    }
    return;
  }
  double ops = 0.0;
  for (auto _ : st) ops += one_pass(loop, threads);
  st.SetItemsProcessed(int64_t(ops));
}

}  // namespace smoothcheck::bench
