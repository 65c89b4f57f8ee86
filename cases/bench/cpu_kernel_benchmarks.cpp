// Google Benchmark suite of the production CPU backend: every kernel of kernels/kernel_api.h at
// LLaMA-2-7B shapes (llama_shapes.h), f32 and bf16 activations, the best ISA and (for the
// quantisation kernels) the portable scalar path; and, in the same run, the ceilings they are judged
// against (design.md "Benchmarks"):
//   - bandwidth-bound kernels: this machine's measured copy bandwidth (memcpy of 256 MiB, single and
//     threaded, and STREAM scale), measured in main() before any benchmark runs and again right after
//     each DRAM-bound kernel's timed loop; each kernel reports `frac_copy_bw` = its bytes/s (read +
//     written) / the best copy bytes/s (read + written) beside it (cpu_bench_target.cpp);
//   - the GEMMs: LibTorch's float32 at::mm and int8 linear (torch_gemm_ceilings.h), each a row of its
//     own just before the kernels of its shape; and the exact path's instruction ceiling, vpmaddwd on
//     ymm registers on every thread (vpmaddwd_ceiling.h), a row at the start of the run and re-measured
//     right before and after each GEMM row's timed loop (`frac_vpmaddwd`).
// Each fraction is the row's rate over the wall time of its timed loop (the interval UseRealTime()
// reports) divided by the ceiling: bytes_per_second / ceiling, or items_per_second / ceiling.
// The kernel rows come from kernel_benchmark_table.h, shared with the CUDA suite; each name ends in
// the ISA it ran on.
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cases/bench/benchmark_registration.h"
#include "cases/bench/cpu_bench_target.h"
#include "cases/bench/cpu_copy_ceiling.h"
#include "cases/bench/kernel_benchmark_table.h"
#include "cases/bench/llama_shapes.h"
#include "cases/bench/torch_gemm_ceilings.h"
#include "cases/bench/vpmaddwd_ceiling.h"
#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;
using kernels::CpuIsa;

constexpr std::size_t kCopyBytes = std::size_t(256) << 20;  // far beyond the 32 MiB L3
int g_threads = 1;

CopyCeiling& copy_ceiling() {
  static CopyCeiling ceiling(kCopyBytes, g_threads);
  return ceiling;
}

const char* isa_name(CpuIsa isa) {
  if (isa == CpuIsa::scalar) return "scalar";
  return kernels::cpu_supports_avx2() ? "avx2" : "scalar";
}

// One backend and one target per ISA, created on first use; every target shares one buffer cache.
HostBufferCache g_cache;
KernelBenchTarget& target(CpuIsa isa) {
  struct Entry {
    std::unique_ptr<kernels::Backend> backend;
    std::unique_ptr<KernelBenchTarget> target;
  };
  static std::map<CpuIsa, Entry> cache;
  Entry& e = cache[isa];
  if (!e.target) {
    e.backend = kernels::make_cpu_backend(kernels::CpuBackendOptions{isa, g_threads});
    e.target = make_cpu_bench_target(*e.backend, g_cache, copy_ceiling());
  }
  return *e.target;
}

// ---- the copy ceiling as rows of the run ----------------------------------------------------------

// scale: STREAM's b[i] = 2 a[i] instead of memcpy (copy_bandwidth.h says why both are measured).
void bm_copy(State& st, int threads, bool scale) {
  auto& [src, dst] = copy_ceiling().buffers();
  if (scale) std::fill(src.as<float>(), src.as<float>() + kCopyBytes / 4, 1.0f);
  for (auto _ : st) {
    if (scale) {
      threaded_scale(dst.as<float>(), src.as<float>(), kCopyBytes / 4, threads);
    } else {
      threaded_copy(dst.data(), src.data(), kCopyBytes, threads);
    }
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(int64_t(2.0 * double(kCopyBytes) * double(st.iterations())));
}

// ---- registration ---------------------------------------------------------------------------------

// A KernelError (or LibTorch error) inside a benchmark becomes that benchmark's error, not an abort.
template <class Fn>
benchmark::internal::Benchmark* add(const std::string& name, Fn fn) {
  return benchmark::RegisterBenchmark(name.c_str(), guard_exceptions(fn))
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

// A row of the kernel table on one ISA; each run of it opens a new generation of the buffer cache.
void add_kernel(const KernelBenchmark& row, CpuIsa isa) {
  apply_shapes(add(join({row.name, isa_name(isa)}),
                   [run = row.run, isa](State& st) {
                     g_cache.new_generation();
                     run(target(isa), st);
                   }),
               row.shapes);
}

void register_all() {
  const std::vector<CpuIsa> quant_isas = kernels::cpu_supports_avx2()
                                             ? std::vector<CpuIsa>{CpuIsa::best, CpuIsa::scalar}
                                             : std::vector<CpuIsa>{CpuIsa::best};

  // Copy ceilings first, so the run's first rows say what 1.0 means for the bandwidth-bound kernels
  // (they are rows for the record: the fractions use the measurement main() made before the run).
  const std::string threads = "/threads:" + std::to_string(g_threads);
  add("ceiling/memcpy/MiB:256", [](State& st) { bm_copy(st, 1, false); });
  add("ceiling/threaded_copy/MiB:256" + threads, [](State& st) { bm_copy(st, g_threads, false); });
  add("ceiling/stream_scale/MiB:256" + threads, [](State& st) { bm_copy(st, g_threads, true); });
  // The GEMM's instruction ceiling, and the same loop with the kernel's accumulate add (for the record).
  if (kernels::cpu_supports_avx2()) {
    add("ceiling/vpmaddwd_ymm" + threads, [](State& st) { run_vpmaddwd_ceiling(st, MaddLoop::vpmaddwd, g_threads); });
    add("ceiling/vpmaddwd_vpaddd_ymm" + threads,
        [](State& st) { run_vpmaddwd_ceiling(st, MaddLoop::vpmaddwd_vpaddd, g_threads); });
  }

  for (DType dt : {DType::f32, DType::bf16}) {
    const std::vector<KernelBenchmark> rows = kernel_benchmarks(dt);
    for (CpuIsa isa : quant_isas)
      for (const KernelBenchmark& row : rows)
        if (row.every_isa) add_kernel(row, isa);
    // The weight-side steps run once per checkpoint, not per token: their best ISA only.
    for (const KernelBenchmark& row : rows)
      if (!row.every_isa) add_kernel(row, CpuIsa::best);
  }
  for (const KernelBenchmark& row : smooth_scale_benchmarks()) add_kernel(row, CpuIsa::best);

  // GEMMs, shape by shape: the LibTorch ceilings of a shape run just before its kernels. AVX2 only: the
  // portable GEMM is a plain dot-product loop, the fallback for CPUs without AVX2, kept for correctness
  // rather than speed.
  for (const LinearShape& l : kLinears)
    for (int64_t m : kTokens) {
      auto shape = [&](benchmark::internal::Benchmark* b) {
        b->Args({m, l.n, l.k})->ArgNames({"M", "N", "K"});
        if (m >= kLongGemmM) b->Iterations(1);  // seconds per call on a 2-core machine
      };
      shape(add("ceiling/torch_mm_f32", run_torch_f32_mm_ceiling));
      shape(add("ceiling/torch_linear_dynamic_int8_onednn", run_torch_int8_linear_ceiling));
      std::vector<GemmVariant> variants(kGemmVariants.begin(), kGemmVariants.end());
      variants.insert(variants.end(), kPrepackedGemmVariants.begin(), kPrepackedGemmVariants.end());
      for (const GemmVariant& v : variants)
        shape(add(join({v.kernel, v.options, isa_name(CpuIsa::best)}), [v](State& st) {
          g_cache.new_generation();
          run_gemm(target(CpuIsa::best), st, v);
        }));
    }
}

}  // namespace
}  // namespace smoothcheck::bench

int main(int argc, char** argv) {
  namespace sb = smoothcheck::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // One thread per core for the backend, LibTorch's intra-op pool and the threaded copy alike, so every
  // ceiling is measured with the resources the kernels get.
  sb::g_threads = std::max(1, int(std::thread::hardware_concurrency()));
  at::set_num_threads(sb::g_threads);

  sb::CopyCeiling& copy = sb::copy_ceiling();
  copy.measure_at_startup(3);
  const sb::CopyBandwidth& bw = copy.startup();
  char line[320];
  std::snprintf(line, sizeof line,
                "%.3f GB/s, the best of memcpy %.3f, %d-thread copy %.3f, %d-thread stream scale %.3f GB/s "
                "(read + write, %zu MiB)",
                bw.best() / 1e9, bw.single_thread / 1e9, bw.threads, bw.threaded / 1e9, bw.threads,
                bw.stream_scale / 1e9, sb::kCopyBytes >> 20);
  benchmark::AddCustomContext("copy_bandwidth_ceiling", line);
  benchmark::AddCustomContext("cpu_isa", sb::isa_name(smoothcheck::kernels::CpuIsa::best));
  benchmark::AddCustomContext("threads", std::to_string(sb::g_threads));
  benchmark::AddCustomContext("int8_library_ceiling",
                              "LibTorch quantized::linear_dynamic over linear_prepack (per-channel), oneDNN engine (this LibTorch has no FBGEMM)");

  sb::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
