// Google Benchmark suite of the CUDA kernels: every launcher of kernels/cuda/launchers.h on device
// buffers (no host copies in the timed region), at the LLaMA-2-7B shapes of llama_shapes.h, f32 and
// bf16 activations. Each iteration flushes L2 and is timed by CUDA events (cuda_event_timer.h,
// UseManualTime()). In the same run, the ceilings (design.md "Benchmarks"):
//   - bandwidth-bound kernels: the device-to-device cudaMemcpy bandwidth of a 256 MiB buffer
//     (read + write), measured in main() before any benchmark; rows report `frac_d2d_copy_bw`;
//   - the GEMMs: cuBLASLt's int8 GEMM at the same shape (cublaslt_ceiling.h), a row of its own just
//     before the kernels of its shape; rows report `frac_cublaslt_int8`.
// Fractions divide the row's rate over its summed event times (the manual time) by the ceiling.
// The kernel rows come from kernel_benchmark_table.h, shared with the CPU suite (cuda_bench_target.h
// runs them); the rows of this backend alone (migration reciprocals, the cuBLASLt engine) are here.
//
// Without a usable device (none, or older than sm_80) it prints the reason and exits, having run
// nothing, with the code given by --no_device_exit_code=N (default 0; the ctest smoke entry passes 77,
// its SKIP_RETURN_CODE).
#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cases/bench/benchmark_registration.h"
#include "cases/bench/cublaslt_ceiling.h"
#include "cases/bench/cuda_bench_target.h"
#include "cases/bench/cuda_device_inputs.h"
#include "cases/bench/cuda_event_timer.h"
#include "cases/bench/kernel_benchmark_table.h"
#include "cases/bench/llama_shapes.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch_plan.h"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;
namespace launch = kernels::cuda_launch;
namespace plan = kernels::cuda_plan;

constexpr std::size_t kCopyBytes = std::size_t(256) << 20;
const cudaStream_t kStream = kBenchStream;

int g_device = 0;
double g_copy_bw = 0.0;  // bytes/s, read + write
std::unique_ptr<L2Flusher> g_flusher;

// ---- rows of this backend alone ------------------------------------------------------------------

// The migration step's f32 reciprocals of s, which the backend forms once per quantisation call.
void bm_migration_reciprocals(KernelBenchTarget& target, State& st) {
  const int64_t c = st.range(0);
  const float* s = target.positive_floats("s", c, 12);
  float* recip = static_cast<float*>(target.zeroed_output("recip", DType::f32, c));
  target.time_bandwidth(st, [=] { launch::migration_reciprocals(s, c, recip, kStream); }, double(c) * 8);
}

// The backend's cuBLASLt engine: the project's cuBLASLt call (descriptors and heuristic per call, as
// the backend does) followed by the separate epilogue kernel.
void bm_gemm_cublaslt_engine(KernelBenchTarget& target, State& st, DType out_dtype, Epilogue epilogue) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  const std::string violated = plan::cublaslt_int8_constraint(m, n, k);
  if (!violated.empty()) {
    st.SkipWithError(violated.c_str());
    return;
  }
  static cublasLtHandle_t handle = [] {
    cublasLtHandle_t h = nullptr;
    SC_CUBLAS_CHECK(cublasLtCreate(&h));
    return h;
  }();
  DeviceBuffer& workspace = scratch("lt_workspace", kLtWorkspaceBytes);
  void* ws = workspace.data();
  const CompactOperands o = compact_operands(m, n, k);
  const DeviceBuffer& sa = positive("scale_a", m, 43);
  const DeviceBuffer& sb = positive("scale_b", n, 44);
  DeviceBuffer& out = scratch("gemm_out", std::size_t(m * n) * dtype_size(out_dtype));
  const launch::EpilogueArgs ep{sa.as<float>(), sb.as<float>(), nullptr, epilogue};
  void* dout = out.data();
  target.time_gemm(
      st,
      [=] {
        launch::cublaslt_gemm_s8s8s32(handle, o.a->as<int8_t>(), o.b->as<int8_t>(), o.acc->as<int32_t>(), m, n, k,
                                      ws, kLtWorkspaceBytes, kStream);
        launch::gemm_epilogue(o.acc->as<int32_t>(), n, m, n, ep, dout, out_dtype, n, kStream);
      },
      m, n, k);
}

// ---- the copy ceiling -----------------------------------------------------------------------------

double measure_d2d_copy() {
  DeviceBuffer a(kCopyBytes), b(kCopyBytes);
  SC_CUDA_CHECK(cudaMemsetAsync(a.data(), 1, kCopyBytes, kStream));
  SC_CUDA_CHECK(cudaMemsetAsync(b.data(), 2, kCopyBytes, kStream));
  cudaEvent_t start, stop;
  SC_CUDA_CHECK(cudaEventCreate(&start));
  SC_CUDA_CHECK(cudaEventCreate(&stop));
  double best = 1e30;
  for (int i = 0; i < 20; ++i) {
    SC_CUDA_CHECK(cudaEventRecord(start, kStream));
    SC_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), kCopyBytes, cudaMemcpyDeviceToDevice, kStream));
    SC_CUDA_CHECK(cudaEventRecord(stop, kStream));
    SC_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    SC_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = std::min(best, double(ms) * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 2.0 * double(kCopyBytes) / best;  // read + write
}

void bm_d2d_copy(State& st) {
  DeviceBuffer& a = scratch("copy_src", kCopyBytes);
  DeviceBuffer& b = scratch("copy_dst", kCopyBytes);
  for (auto _ : st) {
    CudaEventTimer timer(st, nullptr, kStream);  // 256 MiB already exceeds L2: no flush needed
    SC_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), kCopyBytes, cudaMemcpyDeviceToDevice, kStream));
  }
  st.SetBytesProcessed(int64_t(2.0 * double(kCopyBytes) * double(st.iterations())));
}

// ---- registration ---------------------------------------------------------------------------------

// A CUDA or cuBLASLt failure inside a benchmark becomes that benchmark's error, not an abort of the run.
template <class Fn>
benchmark::internal::Benchmark* add(const std::string& name, Fn fn) {
  return benchmark::RegisterBenchmark(name.c_str(), guard_exceptions(fn))
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

void add_kernel(const KernelBenchmark& row, KernelBenchTarget& target) {
  apply_shapes(add(row.name, [run = row.run, &target](State& st) { run(target, st); }), row.shapes);
}

void register_all(KernelBenchTarget& target) {
  add("ceiling/d2d_memcpy/MiB:256", bm_d2d_copy);
  for (DType dt : {DType::f32, DType::bf16})
    for (const KernelBenchmark& row : kernel_benchmarks(dt)) add_kernel(row, target);
  channel_args(add("migration_reciprocals", [&target](State& st) { bm_migration_reciprocals(target, st); }));
  for (const KernelBenchmark& row : smooth_scale_benchmarks()) add_kernel(row, target);

  for (const LinearShape& l : kLinears)
    for (int64_t m : kTokens) {
      auto shape = [&](benchmark::internal::Benchmark* b) { b->Args({m, l.n, l.k})->ArgNames({"M", "N", "K"}); };
      shape(add("ceiling/cublaslt_int8", [](State& st) { run_cublaslt_ceiling(st, g_flusher.get()); }));
      for (const GemmVariant& v : kGemmVariants)
        shape(add(join({v.kernel, "mma", v.options}), [v, &target](State& st) { run_gemm(target, st, v); }));
      shape(add("gemm_w8a8/cublaslt_engine/bf16/vllm",
                [&target](State& st) { bm_gemm_cublaslt_engine(target, st, DType::bf16, Epilogue::vllm); }));
    }
}

// Removes --no_device_exit_code=N from argv (Google Benchmark rejects flags it does not know).
int take_no_device_exit_code(int* argc, char** argv) {
  int code = 0;
  const char* flag = "--no_device_exit_code=";
  int out = 0;
  for (int i = 0; i < *argc; ++i) {
    if (i > 0 && std::strncmp(argv[i], flag, std::strlen(flag)) == 0) {
      code = std::atoi(argv[i] + std::strlen(flag));
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  return code;
}

}  // namespace
}  // namespace smoothcheck::bench

int main(int argc, char** argv) {
  namespace sb = smoothcheck::bench;
  const int no_device_exit_code = sb::take_no_device_exit_code(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // The backend's own availability test: a device exists and is sm_80 or later (mma.sync int8).
  std::string why;
  if (!smoothcheck::kernels::make_cuda_backend()->available(&why)) {
    std::fprintf(stderr, "cuda_kernel_benchmarks: nothing run: %s\n", why.c_str());
    return no_device_exit_code;
  }
  try {
    SC_CUDA_CHECK(cudaSetDevice(sb::g_device));
    cudaDeviceProp prop{};
    SC_CUDA_CHECK(cudaGetDeviceProperties(&prop, sb::g_device));
    sb::g_flusher = std::make_unique<sb::L2Flusher>(sb::g_device);
    sb::g_copy_bw = sb::measure_d2d_copy();
    char line[160];
    std::snprintf(line, sizeof line, "%.1f GB/s (cudaMemcpy device to device, 256 MiB, read + write)",
                  sb::g_copy_bw / 1e9);
    benchmark::AddCustomContext("d2d_copy_bandwidth_ceiling", line);
    benchmark::AddCustomContext("cuda_device", prop.name);
    benchmark::AddCustomContext("l2_flush_bytes", std::to_string(sb::g_flusher->bytes()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_kernel_benchmarks: setup failed: %s\n", e.what());
    return 1;
  }
  const std::unique_ptr<sb::KernelBenchTarget> target = sb::make_cuda_bench_target(sb::g_flusher.get(), sb::g_copy_bw);
  sb::register_all(*target);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
