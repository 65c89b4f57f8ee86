// Google Benchmark suite of the CUDA kernels: every launcher of kernels/cuda/launchers.h on device
// buffers (no host copies in the timed region), at the LLaMA-2-7B shapes of llama_shapes.h, f32 and
// bf16 activations. Each iteration flushes L2 and is timed by CUDA events (cuda_event_timer.h,
// UseManualTime()). In the same run, the ceilings (design.md "Benchmarks"):
//   - bandwidth-bound kernels: the device-to-device cudaMemcpy bandwidth of a 256 MiB buffer
//     (read + write), measured in main() before any benchmark; rows report `frac_d2d_copy_bw`;
//   - the GEMMs: cuBLASLt's int8 GEMM (CUBLAS_COMPUTE_32I, descriptors and algorithm chosen once, only
//     cublasLtMatmul timed) at the same shape, run as a ceiling row just before the kernels of its
//     shape; rows report `frac_cublaslt_int8`. If a filter drops the ceiling row, the kernel measures
//     it itself, outside its timed loop.
// Fractions divide the row's rate over its summed event times (the manual time) by the ceiling.
//
// Without a usable device (none, or older than sm_80) it prints the reason and exits, having run
// nothing, with the code given by --no_device_exit_code=N (default 0; the ctest smoke entry passes 77,
// its SKIP_RETURN_CODE).
#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "cases/bench/cuda_event_timer.h"
#include "cases/bench/device_fill.h"
#include "cases/bench/benchmark_registration.h"
#include "cases/bench/llama_shapes.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch_plan.h"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;
using kernels::ConstMatrix;
using kernels::MutMatrix;
using kernels::MutVector;
using kernels::cuda_detail::DeviceBuffer;
namespace launch = kernels::cuda_launch;
namespace plan = kernels::cuda_plan;

constexpr std::size_t kCopyBytes = std::size_t(256) << 20;
constexpr std::size_t kLtWorkspaceBytes = std::size_t(32) << 20;  // what the backend gives cuBLASLt
const cudaStream_t kStream = nullptr;                             // the legacy default stream, as the backend uses

int g_device = 0;
double g_copy_bw = 0.0;  // bytes/s, read + write
std::unique_ptr<L2Flusher> g_flusher;

// ---- device buffers, generated once per (role, dtype, shape) -------------------------------------

// Google Benchmark calls a benchmark function several times while sizing its iteration count; inputs
// are generated on the device once and kept. An H100's 80 GB holds every shape of the suite at once.
DeviceBuffer& buffer(const std::string& key, std::size_t bytes, const std::function<void(DeviceBuffer&)>& fill) {
  static std::map<std::string, DeviceBuffer> cache;
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache.emplace(key, DeviceBuffer(bytes)).first;
    fill(it->second);
    SC_CUDA_CHECK(cudaStreamSynchronize(kStream));
  }
  return it->second;
}
std::string key_of(const char* role, DType t, std::size_t count) {
  return std::string(role) + "/" + to_string(t) + "/" + std::to_string(count);
}

// A dense [rows, cols] float tensor of dtype t.
DeviceBuffer& float_tensor(const char* role, DType t, int64_t rows, int64_t cols, uint64_t seed) {
  return buffer(key_of(role, t, std::size_t(rows * cols)), std::size_t(rows * cols) * dtype_size(t),
                [&](DeviceBuffer& b) { device_fill::fill_float(b.data(), t, rows, cols, cols, seed, kStream); });
}
DeviceBuffer& positive(const char* role, int64_t n, uint64_t seed) {
  return buffer(key_of(role, DType::f32, std::size_t(n)), std::size_t(n) * 4,
                [&](DeviceBuffer& b) { device_fill::fill_positive(b.as<float>(), n, seed, kStream); });
}
// n powers of two followed by their n reciprocals.
DeviceBuffer& power_of_two_pair(const char* role, int64_t n, uint64_t seed) {
  return buffer(key_of(role, DType::f32, std::size_t(2 * n)), std::size_t(2 * n) * 4, [&](DeviceBuffer& b) {
    device_fill::fill_power_of_two_pair(b.as<float>(), b.as<float>() + n, n, seed, kStream);
  });
}
// int8 codes in a zero-filled [rows_pad, cols_pad] buffer, the [rows, cols] corner random.
DeviceBuffer& int8_padded(const char* role, int64_t rows, int64_t cols, int64_t rows_pad, int64_t cols_pad,
                          uint64_t seed) {
  const std::string key = std::string(role) + "/" + std::to_string(rows) + "x" + std::to_string(cols) + "/pad" +
                          std::to_string(rows_pad) + "x" + std::to_string(cols_pad);
  return buffer(key, std::size_t(rows_pad * cols_pad), [&](DeviceBuffer& b) {
    SC_CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), kStream));
    device_fill::fill_int8(b.as<int8_t>(), rows, cols, cols_pad, seed, kStream);
  });
}
DeviceBuffer& scratch(const char* role, std::size_t bytes) {
  return buffer(std::string(role) + "/" + std::to_string(bytes), bytes,
                [](DeviceBuffer& b) { SC_CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), kStream)); });
}

// ---- counters ------------------------------------------------------------------------------------

// seconds: the summed event times of the timed loop (CudaEventTimer's total), the same manual time
// Google Benchmark divides by, so the fraction is bytes_per_second / ceiling.
void report_bytes(State& st, double seconds, double bytes_per_call) {
  const double total = bytes_per_call * double(st.iterations());
  st.SetBytesProcessed(int64_t(total));
  if (g_copy_bw > 0 && seconds > 0) st.counters["frac_d2d_copy_bw"] = total / seconds / g_copy_bw;
}

// ---- the GEMM ceiling: cuBLASLt int8, set up once per shape --------------------------------------

template <class T, cublasStatus_t (*Destroy)(T)>
struct LtDeleter {
  void operator()(T p) const {
    if (p) Destroy(p);
  }
};

// acc [M, N] int32 = a [M, K] · b [N, K]ᵀ, row-major, as cuBLASLt's column-major "TN" product
// accᵀ = bᵀ · a (K the leading dimension of both operands). Descriptors and the heuristic's algorithm
// are chosen in the constructor, so run() enqueues cublasLtMatmul and nothing else.
class CublasLtInt8 {
 public:
  CublasLtInt8(int64_t m, int64_t n, int64_t k) : m_(m), n_(n), k_(k) {
    const std::string violated = plan::cublaslt_int8_constraint(m, n, k);
    if (!violated.empty()) throw kernels::UnsupportedArguments(violated);
    SC_CUBLAS_CHECK(cublasLtCreate(&handle_));
    SC_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32I, CUDA_R_32I));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    SC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a_, CUDA_R_8I, uint64_t(k), uint64_t(n), k));
    SC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b_, CUDA_R_8I, uint64_t(k), uint64_t(m), k));
    SC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&c_, CUDA_R_32I, uint64_t(n), uint64_t(m), n));
    cublasLtMatmulPreference_t pref = nullptr;
    SC_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>,
                    LtDeleter<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>>
        pref_owner(pref);
    std::size_t ws = kLtWorkspaceBytes;
    SC_CUBLAS_CHECK(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    int found = 0;
    SC_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, op_, a_, b_, c_, c_, pref, 1, &heuristic_, &found));
    if (found == 0) throw kernels::KernelError("cuBLASLt: no int8 algorithm for this shape");
    workspace_ = DeviceBuffer(kLtWorkspaceBytes);
  }
  ~CublasLtInt8() {
    if (c_) cublasLtMatrixLayoutDestroy(c_);
    if (b_) cublasLtMatrixLayoutDestroy(b_);
    if (a_) cublasLtMatrixLayoutDestroy(a_);
    if (op_) cublasLtMatmulDescDestroy(op_);
    if (handle_) cublasLtDestroy(handle_);
  }
  CublasLtInt8(const CublasLtInt8&) = delete;
  CublasLtInt8& operator=(const CublasLtInt8&) = delete;

  void run(const int8_t* a, const int8_t* b, int32_t* acc) const {
    const int32_t alpha = 1, beta = 0;
    SC_CUBLAS_CHECK(cublasLtMatmul(handle_, op_, &alpha, b, a_, a, b_, &beta, acc, c_, acc, c_, &heuristic_.algo,
                                   workspace_.data(), workspace_.bytes(), kStream));
  }

 private:
  int64_t m_, n_, k_;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulHeuristicResult_t heuristic_{};
  DeviceBuffer workspace_;
};

struct GemmKey {
  int64_t m, n, k;
  bool operator<(const GemmKey& o) const { return std::tie(m, n, k) < std::tie(o.m, o.n, o.k); }
};
std::map<GemmKey, double> g_cublaslt_ops;  // ops/s (2·M·N·K per call); < 0: cuBLASLt refused the shape

// Compact int8 operands for cuBLASLt (row stride K) and an int32 output.
struct CompactOperands {
  DeviceBuffer* a;
  DeviceBuffer* b;
  DeviceBuffer* acc;
};
CompactOperands compact_operands(int64_t m, int64_t n, int64_t k) {
  return CompactOperands{&int8_padded("lt_a", m, k, m, k, 51), &int8_padded("lt_b", n, k, n, k, 52),
                         &scratch("lt_acc", std::size_t(m * n) * 4)};
}

// The ceiling measured outside any benchmark (when its row was filtered out): flushed, event-timed runs.
double measure_cublaslt(int64_t m, int64_t n, int64_t k) {
  try {
    CublasLtInt8 g(m, n, k);
    const CompactOperands o = compact_operands(m, n, k);
    g.run(o.a->as<int8_t>(), o.b->as<int8_t>(), o.acc->as<int32_t>());  // warm-up
    cudaEvent_t start, stop;
    SC_CUDA_CHECK(cudaEventCreate(&start));
    SC_CUDA_CHECK(cudaEventCreate(&stop));
    double seconds = 0.0;
    const int runs = 10;
    for (int i = 0; i < runs; ++i) {
      g_flusher->flush(kStream);
      SC_CUDA_CHECK(cudaEventRecord(start, kStream));
      g.run(o.a->as<int8_t>(), o.b->as<int8_t>(), o.acc->as<int32_t>());
      SC_CUDA_CHECK(cudaEventRecord(stop, kStream));
      SC_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.0f;
      SC_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      seconds += ms * 1e-3;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return 2.0 * double(m) * double(n) * double(k) * runs / seconds;
  } catch (const kernels::UnsupportedArguments&) {
    return -1.0;
  }
}

void report_gemm(State& st, double seconds, int64_t m, int64_t n, int64_t k) {
  const double total = 2.0 * double(m) * double(n) * double(k) * double(st.iterations());
  st.SetItemsProcessed(int64_t(total));
  auto it = g_cublaslt_ops.find(GemmKey{m, n, k});
  if (it == g_cublaslt_ops.end()) it = g_cublaslt_ops.emplace(GemmKey{m, n, k}, measure_cublaslt(m, n, k)).first;
  if (it->second > 0 && seconds > 0) st.counters["frac_cublaslt_int8"] = total / seconds / it->second;
}

void bm_cublaslt_ceiling(State& st) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  std::unique_ptr<CublasLtInt8> g;
  try {
    g = std::make_unique<CublasLtInt8>(m, n, k);
  } catch (const kernels::KernelError& e) {
    g_cublaslt_ops[GemmKey{m, n, k}] = -1.0;
    st.SkipWithError(e.what());
    return;
  }
  const CompactOperands o = compact_operands(m, n, k);
  double seconds = 0.0;  // the same event times Google Benchmark gets
  for (auto _ : st) {
    CudaEventTimer t(st, g_flusher.get(), kStream, &seconds);
    g->run(o.a->as<int8_t>(), o.b->as<int8_t>(), o.acc->as<int32_t>());
  }
  const double ops = 2.0 * double(m) * double(n) * double(k) * double(st.iterations());
  st.SetItemsProcessed(int64_t(ops));
  // The last call of this function is the run Google Benchmark reports; its rate is the ceiling.
  if (seconds > 0) g_cublaslt_ops[GemmKey{m, n, k}] = ops / seconds;
}

// ---- kernels ------------------------------------------------------------------------------------

enum class PerTokenVariant { plain, migration, lmdeploy_options };

void bm_quantize_per_token(State& st, DType dt, PerTokenVariant variant) {
  const int64_t t = st.range(0), c = st.range(1);
  const DeviceBuffer& x = float_tensor("x", dt, t, c, 11);
  const DeviceBuffer& s = positive("s", c, 12);
  DeviceBuffer& recip = scratch("recip", std::size_t(c) * 4);
  DeviceBuffer& q = scratch("q", std::size_t(t * c));
  DeviceBuffer& scale = scratch("scale", std::size_t(t) * 4);
  const bool migrate = variant == PerTokenVariant::migration;
  if (migrate) {
    launch::migration_reciprocals(s.as<float>(), c, recip.as<float>(), kStream);
    SC_CUDA_CHECK(cudaStreamSynchronize(kStream));
  }
  const ActQuantOptions o = variant == PerTokenVariant::lmdeploy_options ? lmdeploy_triton_act_quant() : vllm_dynamic_act_quant();
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::quantize_per_token(ConstMatrix{x.data(), dt, t, c, c}, migrate ? recip.as<float>() : nullptr, o,
                               MutMatrix{q.data(), DType::i8, t, c, c}, scale.as<float>(), kStream);
  }
  report_bytes(st, seconds, double(t * c) * (dtype_size(dt) + 1) + double(t) * 4 + (migrate ? double(c) * 4 : 0.0));
}

void bm_migration_reciprocals(State& st) {
  const int64_t c = st.range(0);
  const DeviceBuffer& s = positive("s", c, 12);
  DeviceBuffer& recip = scratch("recip", std::size_t(c) * 4);
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::migration_reciprocals(s.as<float>(), c, recip.as<float>(), kStream);
  }
  report_bytes(st, seconds, double(c) * 8);
}

void bm_quantize_per_tensor(State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const DeviceBuffer& x = float_tensor("x", dt, t, c, 11);
  DeviceBuffer& q = scratch("q", std::size_t(t * c));
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::quantize_per_tensor(ConstMatrix{x.data(), dt, t, c, c}, nullptr, 0.015f, vllm_static_act_quant(),
                                MutMatrix{q.data(), DType::i8, t, c, c}, kStream);
  }
  report_bytes(st, seconds, double(t * c) * (dtype_size(dt) + 1));
}

void bm_rmsnorm_quantize(State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const DeviceBuffer& x = float_tensor("x", dt, t, c, 11);
  const DeviceBuffer& w = positive("norm_w_f32", c, 13);  // the launcher takes the weight as f32
  DeviceBuffer& q = scratch("q", std::size_t(t * c));
  DeviceBuffer& scale = scratch("scale", std::size_t(t) * 4);
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::rmsnorm_quantize(ConstMatrix{x.data(), dt, t, c, c}, w.as<float>(), 1e-5f, vllm_dynamic_act_quant(),
                             MutMatrix{q.data(), DType::i8, t, c, c}, scale.as<float>(), kStream);
  }
  report_bytes(st, seconds, double(t * c) * (dtype_size(dt) + 1) + double(c) * 4 + double(t) * 4);
}

void bm_channel_stats(State& st, DType dt) {
  const int64_t t = st.range(0), c = st.range(1);
  const DeviceBuffer& x = float_tensor("x", dt, t, c, 11);
  DeviceBuffer& out = scratch("stats", std::size_t(5 * c) * 4);
  float* o = out.as<float>();
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::channel_stats(ConstMatrix{x.data(), dt, t, c, c},
                          kernels::ChannelStatsOut{o, o + c, o + 2 * c, o + 3 * c, o + 4 * c}, kStream);
  }
  report_bytes(st, seconds, double(t * c) * dtype_size(dt) + 5.0 * double(c) * 4);
}

// One fc: accumulate (first = true) then finalize, as the backend runs a group of one.
void bm_weight_stat(State& st, DType dt, Recipe recipe) {
  const int64_t r = st.range(0), c = st.range(1);
  const DeviceBuffer& w = float_tensor("w", dt, r, c, 21);
  DeviceBuffer& row_absmax = scratch("row_absmax", std::size_t(r) * 4);
  DeviceBuffer& acc = scratch("wstat_acc", std::size_t(c) * 8);
  DeviceBuffer& out = scratch("wstat", std::size_t(c) * 4);
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::weight_stat_accumulate(ConstMatrix{w.data(), dt, r, c, c}, recipe, 0, row_absmax.as<float>(),
                                   acc.as<double>(), true, DType::f32, kStream);
    launch::weight_stat_finalize(acc.as<double>(), c, recipe, r, out.as<float>(), DType::f32, kStream);
  }
  report_bytes(st, seconds, double(r * c) * dtype_size(dt) + double(c) * 4);
}

void bm_quantize_weight(State& st, DType dt, WeightQuant variant) {
  const int64_t r = st.range(0), c = st.range(1);
  const DeviceBuffer& w = float_tensor("w", dt, r, c, 21);
  DeviceBuffer& q = scratch("qw", std::size_t(r * c));
  DeviceBuffer& scale = scratch("wscale", std::size_t(r) * 4);
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::quantize_weight(ConstMatrix{w.data(), dt, r, c, c}, variant, MutMatrix{q.data(), DType::i8, r, c, c},
                            scale.as<float>(), kStream);
  }
  report_bytes(st, seconds, double(r * c) * (dtype_size(dt) + 1) + double(r) * 4);
}

enum class Smoothing { scale_columns, divide_rows };

// In place: iterations alternate s and 1/s (powers of two), so the weight never drifts.
void bm_apply_smoothing(State& st, DType dt, Smoothing which) {
  const int64_t r = st.range(0), c = st.range(1);
  DeviceBuffer& w = float_tensor("w_inplace", dt, r, c, 22);
  const int64_t ns = which == Smoothing::scale_columns ? c : r;
  const DeviceBuffer& s = power_of_two_pair("s_pow2", ns, 23);
  bool forward = true;
  double seconds = 0.0;
  for (auto _ : st) {
    const float* scales = s.as<float>() + (forward ? 0 : ns);
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    const MutMatrix view{w.data(), dt, r, c, c};
    if (which == Smoothing::scale_columns) {
      launch::scale_columns(view, scales, kStream);
    } else {
      launch::divide_rows(view, scales, kStream);
    }
    forward = !forward;
  }
  report_bytes(st, seconds, 2.0 * double(r * c) * dtype_size(dt) + double(ns) * 4);
}

void bm_divide_vector(State& st, DType dt) {
  const int64_t c = st.range(0);
  DeviceBuffer& v = float_tensor("v_inplace", dt, 1, c, 24);
  const DeviceBuffer& s = power_of_two_pair("s_pow2_vec", c, 25);
  bool forward = true;
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::divide_vector(MutVector{v.data(), dt, c}, s.as<float>() + (forward ? 0 : c), kStream);
    forward = !forward;
  }
  report_bytes(st, seconds, 2.0 * double(c) * dtype_size(dt) + double(c) * 4);
}

void bm_smooth_scale(State& st, Recipe recipe) {
  const int64_t c = st.range(0);
  const DeviceBuffer& a = positive("act_stat", c, 31);
  const DeviceBuffer& w = positive("w_stat", c, 32);
  const DeviceBuffer& norm = positive("norm_f32", c, 33);
  DeviceBuffer& s = scratch("smooth_s", std::size_t(c) * 4);
  const float* norm_weight = recipe == Recipe::lmdeploy ? norm.as<float>() : nullptr;
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::smooth_scale(a.as<float>(), w.as<float>(), norm_weight, c, recipe, 0.5f, s.as<float>(), DType::f32, kStream);
  }
  report_bytes(st, seconds, double(c) * 4 * (norm_weight ? 4 : 3));
}

// The project's mma.sync GEMM on padded operands (as the backend lays them out); out i32 = raw
// accumulators, else the fused epilogue into that dtype.
void bm_gemm_mma(State& st, DType out_dtype, Epilogue epilogue) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  plan::GemmPlan p;
  const std::string why = plan::plan_gemm(m, n, k, &p);
  if (!why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const DeviceBuffer& a = int8_padded("mma_a", m, k, p.m_pad, p.k_pad, 41);
  const DeviceBuffer& b = int8_padded("mma_b", n, k, p.n_pad, p.k_pad, 42);
  const DeviceBuffer& sa = positive("scale_a", m, 43);
  const DeviceBuffer& sb = positive("scale_b", n, 44);
  DeviceBuffer& out = scratch("gemm_out", std::size_t(m * n) * dtype_size(out_dtype));
  const launch::EpilogueArgs ep{sa.as<float>(), sb.as<float>(), nullptr, epilogue};
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::gemm_mma(a.as<int8_t>(), b.as<int8_t>(), p, ep, out.data(), out_dtype, n, kStream);
  }
  report_gemm(st, seconds, m, n, k);
}

// The backend's cuBLASLt engine: the project's cuBLASLt call (descriptors and heuristic per call, as
// the backend does) followed by the separate epilogue kernel.
void bm_gemm_cublaslt_engine(State& st, DType out_dtype, Epilogue epilogue) {
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
  const CompactOperands o = compact_operands(m, n, k);
  const DeviceBuffer& sa = positive("scale_a", m, 43);
  const DeviceBuffer& sb = positive("scale_b", n, 44);
  DeviceBuffer& out = scratch("gemm_out", std::size_t(m * n) * dtype_size(out_dtype));
  const launch::EpilogueArgs ep{sa.as<float>(), sb.as<float>(), nullptr, epilogue};
  double seconds = 0.0;
  for (auto _ : st) {
    CudaEventTimer timer(st, g_flusher.get(), kStream, &seconds);
    launch::cublaslt_gemm_s8s8s32(handle, o.a->as<int8_t>(), o.b->as<int8_t>(), o.acc->as<int32_t>(), m, n, k,
                                  workspace.data(), workspace.bytes(), kStream);
    launch::gemm_epilogue(o.acc->as<int32_t>(), n, m, n, ep, out.data(), out_dtype, n, kStream);
  }
  report_gemm(st, seconds, m, n, k);
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

void register_all() {
  add("ceiling/d2d_memcpy/MiB:256", bm_d2d_copy);
  for (DType dt : {DType::f32, DType::bf16}) {
    const std::string d = to_string(dt);
    activation_args(add(join({"quantize_per_token", d}),
                        [=](State& st) { bm_quantize_per_token(st, dt, PerTokenVariant::plain); }));
    activation_args(add(join({"quantize_per_token_migration", d}),
                        [=](State& st) { bm_quantize_per_token(st, dt, PerTokenVariant::migration); }));
    activation_args(add(join({"quantize_per_token_lmdeploy_options", d}),
                        [=](State& st) { bm_quantize_per_token(st, dt, PerTokenVariant::lmdeploy_options); }));
    activation_args(add(join({"quantize_per_tensor", d}), [=](State& st) { bm_quantize_per_tensor(st, dt); }));
    activation_args(add(join({"rmsnorm_quantize", d}), [=](State& st) { bm_rmsnorm_quantize(st, dt); }));
    activation_args(add(join({"channel_stats", d}), [=](State& st) { bm_channel_stats(st, dt); }));
    for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy})
      weight_args(add(join({"weight_stat", d, to_string(r)}), [=](State& st) { bm_weight_stat(st, dt, r); }));
    weight_args(
        add(join({"quantize_weight", d}), [=](State& st) { bm_quantize_weight(st, dt, WeightQuant::smoothquant); }));
    weight_args(
        add(join({"scale_columns", d}), [=](State& st) { bm_apply_smoothing(st, dt, Smoothing::scale_columns); }));
    weight_args(add(join({"divide_rows", d}), [=](State& st) { bm_apply_smoothing(st, dt, Smoothing::divide_rows); }));
    channel_args(add(join({"divide_vector", d}), [=](State& st) { bm_divide_vector(st, dt); }));
  }
  channel_args(add("migration_reciprocals", bm_migration_reciprocals));
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    channel_args(add(join({"smooth_scale", to_string(r)}), [=](State& st) { bm_smooth_scale(st, r); }));

  struct GemmVariant {
    std::string name;
    DType out;
    Epilogue epilogue;
    bool cublaslt_engine;
  };
  const GemmVariant variants[] = {{"gemm_s8s8s32/mma", DType::i32, Epilogue::vllm, false},
                                  {"gemm_w8a8/mma/f32/vllm", DType::f32, Epilogue::vllm, false},
                                  {"gemm_w8a8/mma/bf16/vllm", DType::bf16, Epilogue::vllm, false},
                                  {"gemm_w8a8/mma/bf16/lmdeploy", DType::bf16, Epilogue::lmdeploy, false},
                                  {"gemm_w8a8/cublaslt_engine/bf16/vllm", DType::bf16, Epilogue::vllm, true}};
  for (const LinearShape& l : kLinears)
    for (int64_t m : kTokens) {
      auto shape = [&](benchmark::internal::Benchmark* b) { b->Args({m, l.n, l.k})->ArgNames({"M", "N", "K"}); };
      shape(add("ceiling/cublaslt_int8", bm_cublaslt_ceiling));
      for (const GemmVariant& v : variants)
        shape(add(v.name, [=](State& st) {
          if (v.cublaslt_engine) {
            bm_gemm_cublaslt_engine(st, v.out, v.epilogue);
          } else {
            bm_gemm_mma(st, v.out, v.epilogue);
          }
        }));
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
  sb::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
