// Google Benchmark suite of the production CPU backend: every kernel of kernels/kernel_api.h at
// LLaMA-2-7B shapes (llama_shapes.h), f32 and bf16 activations, the best ISA and (for the
// quantisation kernels) the portable scalar path; and, in the same run, the ceilings they are judged
// against (design.md "Benchmarks"):
//   - bandwidth-bound kernels: this machine's measured copy bandwidth (memcpy of 256 MiB, single and
//     threaded, and STREAM scale), measured in main() before any benchmark runs and again right after
//     each DRAM-bound kernel's timed loop; each kernel reports `frac_copy_bw` = its bytes/s (read +
//     written) / the best copy bytes/s (read + written) beside it (see report_bytes);
//   - the GEMMs: LibTorch's float32 at::mm (OpenBLAS sgemm in Debian's build) and LibTorch's int8
//     linear (quantized::linear_dynamic over quantized::linear_prepack, per-channel weight scales, on
//     the oneDNN engine: Debian's LibTorch 1.13 is built without FBGEMM, so at::fbgemm_linear_int8_weight
//     throws, and at::_int_mm does not exist in 1.13). Each ceiling
//     runs as its own benchmark row just before the kernels of its shape and leaves its ops/s in a
//     table; a kernel row reports `frac_torch_f32_mm`, `frac_torch_int8` and `frac_best_library`
//     (against the faster of the two). When a filter drops a ceiling row, the kernel measures the
//     ceiling itself, outside its timed loop.
// Each fraction is the row's rate over the wall time of its timed loop (the interval UseRealTime()
// reports) divided by the ceiling: bytes_per_second / ceiling, or items_per_second / ceiling.
//
// LibTorch is included by this file only (CMake gives it LibTorch's flags, no other TU sees them).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <utility>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cases/bench/copy_bandwidth.h"
#include "cases/bench/host_buffer.h"
#include "cases/bench/benchmark_registration.h"
#include "cases/bench/llama_shapes.h"
#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;
using kernels::Backend;
using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::CpuIsa;
using kernels::MutMatrix;
using kernels::MutVector;

constexpr std::size_t kCopyBytes = std::size_t(256) << 20;  // far beyond the 32 MiB L3
int g_threads = 1;
CopyBandwidth g_copy;

// ---- backends and inputs, created once and shared by the benchmarks ----------------------------

Backend& backend(CpuIsa isa) {
  static std::map<CpuIsa, std::unique_ptr<Backend>> cache;
  auto& b = cache[isa];
  if (!b) b = kernels::make_cpu_backend(kernels::CpuBackendOptions{isa, g_threads});
  return *b;
}

const char* isa_name(CpuIsa isa) {
  if (isa == CpuIsa::scalar) return "scalar";
  return kernels::cpu_supports_avx2() ? "avx2" : "scalar";
}

// Inputs of 45 M elements take a while to fill and Google Benchmark calls a benchmark function several
// times while it sizes the iteration count, so buffers are cached by (role, dtype, size). Every call
// of a benchmark opens a new generation; when the cache outgrows its budget, the entries that the
// current call has not touched are dropped (never one the running benchmark holds).
class BufferCache {
 public:
  void new_generation() { ++generation_; }
  HostBuffer& get(const std::string& key, std::size_t bytes, const std::function<HostBuffer()>& make) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (total_ + bytes > kBudget) evict_stale();
      it = entries_.emplace(key, Entry{make(), 0}).first;
      total_ += it->second.buffer.bytes();
    }
    it->second.generation = generation_;
    return it->second.buffer;
  }

 private:
  static constexpr std::size_t kBudget = std::size_t(3) << 30;
  struct Entry {
    HostBuffer buffer;
    uint64_t generation;
  };
  void evict_stale() {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.generation != generation_) {
        total_ -= it->second.buffer.bytes();
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::map<std::string, Entry> entries_;
  std::size_t total_ = 0;
  uint64_t generation_ = 0;
};
BufferCache g_cache;

std::string key_of(const char* role, DType t, std::size_t count) {
  return std::string(role) + "/" + to_string(t) + "/" + std::to_string(count);
}
HostBuffer& float_input(const char* role, DType t, std::size_t count, uint64_t seed) {
  return g_cache.get(key_of(role, t, count), count * dtype_size(t), [&] { return make_float_tensor(t, count, seed); });
}
HostBuffer& positive_input(const char* role, std::size_t count, uint64_t seed) {
  return g_cache.get(key_of(role, DType::f32, count), count * 4, [&] { return make_positive_floats(count, seed); });
}
HostBuffer& int8_input(const char* role, std::size_t count, uint64_t seed) {
  return g_cache.get(key_of(role, DType::i8, count), count, [&] { return make_int8_tensor(count, seed); });
}
// Outputs: allocated once, every page touched so that no timed iteration pays for page faults.
HostBuffer& output(const char* role, DType t, std::size_t count) {
  return g_cache.get(key_of(role, t, count), count * dtype_size(t), [&] {
    HostBuffer b(count * dtype_size(t));
    std::memset(b.data(), 0, b.bytes());
    return b;
  });
}

// ---- counters ----------------------------------------------------------------------------------

// Wall time of a benchmark's timed loop, read right after it: the same interval UseRealTime() reports,
// so a fraction set from it as a plain counter is bytes_per_second / ceiling (a rate counter would do
// the same division but print the fraction as "x/s"). Also the CPU time of the whole process (every
// thread) over the same interval, for the CPU-time-normalised ratio of report_bytes.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

class WallClock {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }
  double cpu_seconds() const { return process_cpu_seconds() - cpu0_; }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  double cpu0_ = process_cpu_seconds();
};

// The two 256 MiB buffers of the copy ceiling, faulted in once and shared by the copy rows and by the
// re-measurements beside the kernels.
std::pair<HostBuffer, HostBuffer>& copy_buffers() {
  static std::pair<HostBuffer, HostBuffer> buffers = [] {
    std::pair<HostBuffer, HostBuffer> b{HostBuffer(kCopyBytes), HostBuffer(kCopyBytes)};
    std::memset(b.first.data(), 1, kCopyBytes);
    std::memset(b.second.data(), 2, kCopyBytes);
    return b;
  }();
  return buffers;
}

// Calls moving at least this much per call stream from DRAM: their ceiling is re-measured right after
// their timed loop, so that a machine whose load changes during the run (other jobs on a shared 2-core
// CI box) loads both sides of the ratio alike. Smaller calls use the start-up measurement.
constexpr double kDramBoundBytes = 16.0 * (1 << 20);
// ... and whose timed loop ran this long: the ctest smoke run (10 ms per row) skips the re-measurement.
constexpr double kMinSecondsForBeside = 0.1;

// The copy ceiling beside a kernel: the best of memcpy, the threaded copy and STREAM scale (one pass
// each), in read + written bytes per wall second and per second of process CPU time (all threads).
struct CopyBeside {
  double per_wall_second = 0.0, per_cpu_second = 0.0;
};
CopyBeside measure_copy_beside() {
  auto& [a, b] = copy_buffers();
  CopyBeside best;
  auto time = [&](const std::function<void()>& copy) {
    const WallClock clock;
    copy();
    best.per_wall_second = std::max(best.per_wall_second, 2.0 * double(kCopyBytes) / clock.seconds());
    best.per_cpu_second = std::max(best.per_cpu_second, 2.0 * double(kCopyBytes) / clock.cpu_seconds());
  };
  time([&] { threaded_copy(b.data(), a.data(), kCopyBytes, 1); });
  time([&] { threaded_copy(a.data(), b.data(), kCopyBytes, g_threads); });
  std::fill(a.as<float>(), a.as<float>() + kCopyBytes / 4, 1.0f);
  time([&] { threaded_scale(b.as<float>(), a.as<float>(), kCopyBytes / 4, g_threads); });
  return best;
}

// Bytes read + written per call, and the fractions of the copy ceiling:
//   frac_copy_bw: bytes per wall second over the ceiling measured beside this row when it is
//     DRAM-bound (else the start-up one) -- the goal's figure;
//   frac_copy_bw_startup: the same over the start-up ceiling;
//   frac_copy_bw_cpu (DRAM-bound rows): bytes per second of process CPU time over the copy's bytes per
//     CPU second beside it. On a machine whose cores are shared with other jobs the wall-time ratio
//     mostly measures how much CPU each side got; per CPU second both sides are counted only while they
//     run. Both kernels and copies block (never spin) while waiting, so idle waiting is not counted.
void report_bytes(State& st, const WallClock& clock, double bytes_per_call) {
  const double seconds = clock.seconds(), cpu_seconds = clock.cpu_seconds();
  const double total = bytes_per_call * double(st.iterations());
  st.SetBytesProcessed(int64_t(total));
  if (g_copy.best() <= 0 || seconds <= 0) return;
  const double rate = total / seconds;
  st.counters["frac_copy_bw_startup"] = rate / g_copy.best();
  double ceiling = g_copy.best();
  if (bytes_per_call >= kDramBoundBytes && seconds >= kMinSecondsForBeside) {
    const CopyBeside beside = measure_copy_beside();
    ceiling = beside.per_wall_second;
    st.counters["copy_bw_beside"] = ceiling;
    if (cpu_seconds > 0) st.counters["frac_copy_bw_cpu"] = total / cpu_seconds / beside.per_cpu_second;
  }
  st.counters["frac_copy_bw"] = rate / ceiling;
}

// ---- GEMM ceilings: LibTorch ----------------------------------------------------------------------

struct GemmKey {
  int64_t m, n, k;
  bool operator<(const GemmKey& o) const { return std::tie(m, n, k) < std::tie(o.m, o.n, o.k); }
};
struct GemmCeiling {
  double torch_f32 = 0.0;   // ops/s (2·M·N·K per call) of at::mm in float32
  double torch_int8 = 0.0;  // ops/s of quantized::linear_dynamic (oneDNN), 0 when unavailable
};
std::map<GemmKey, GemmCeiling> g_gemm_ceilings;

// float32 at::mm(x [M, K], w [N, K]ᵀ): the nn.Linear product, as LibTorch's CPU build runs it.
struct TorchF32Gemm {
  at::Tensor x, w_t;
  TorchF32Gemm(int64_t m, int64_t n, int64_t k) {
    at::manual_seed(1);
    x = at::randn({m, k});
    w_t = at::randn({n, k}).t();  // a transposed view: BLAS reads it as "T", no copy
  }
  void run() const {
    at::Tensor y = at::mm(x, w_t);
    benchmark::DoNotOptimize(y.data_ptr());
  }
};

// LibTorch's int8 linear as a serving stack calls it: quantized::linear_dynamic over a weight packed
// once by quantized::linear_prepack (qint8, per-output-channel scales, as SmoothQuant's weights), both
// reached through the operator dispatcher, on the oneDNN engine. It takes float32 activations, quantises
// them per tensor to quint8 itself, accumulates in int32 and returns float32: the same work as our
// per-token quantisation + gemm_w8a8 with a float epilogue, so it is a fair int8 GEMM ceiling.
class TorchInt8Gemm {
 public:
  TorchInt8Gemm(int64_t m, int64_t n, int64_t k) {
    at::globalContext().setQEngine(at::QEngine::ONEDNN);
    at::manual_seed(2);
    const at::Tensor w = at::randn({n, k});
    const at::Tensor w_scale = at::rand({n}, at::kDouble) * 0.02 + 0.01;  // a scale per output channel
    const at::Tensor w_zero = at::zeros({n}, at::kLong);
    const at::Tensor qw = at::quantize_per_channel(w, w_scale, w_zero, 0, at::kQInt8);
    x_ = at::randn({m, k});
    const auto prepack = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
    std::vector<c10::IValue> stack{c10::IValue(qw), c10::IValue()};  // (weight, bias = None)
    prepack.callBoxed(&stack);
    packed_ = stack.at(0);
  }
  void run() const {
    std::vector<c10::IValue> stack{c10::IValue(x_), packed_, c10::IValue(false)};  // reduce_range = false
    linear_.callBoxed(&stack);
    benchmark::DoNotOptimize(stack.at(0).toTensor().data_ptr());
  }

 private:
  at::Tensor x_;
  c10::IValue packed_;
  c10::OperatorHandle linear_ = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_dynamic", "");
};

// ops/s of `run` over at least `min_seconds` (and at least one call after a warm-up call).
double measure_ops(const std::function<void()>& run, double ops_per_call, double min_seconds) {
  run();
  int calls = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0.0;
  do {
    run();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < min_seconds);
  return ops_per_call * calls / elapsed;
}

// The ceilings of one GEMM shape: from the ceiling benchmarks when they ran, else measured here.
const GemmCeiling& gemm_ceiling(int64_t m, int64_t n, int64_t k) {
  GemmCeiling& c = g_gemm_ceilings[GemmKey{m, n, k}];
  const double ops = 2.0 * double(m) * double(n) * double(k);
  const double min_seconds = m >= kLongGemmM ? 0.0 : 0.2;
  if (c.torch_f32 == 0.0) {
    TorchF32Gemm g(m, n, k);
    c.torch_f32 = measure_ops([&] { g.run(); }, ops, min_seconds);
  }
  if (c.torch_int8 == 0.0) {
    try {
      TorchInt8Gemm g(m, n, k);
      c.torch_int8 = measure_ops([&] { g.run(); }, ops, min_seconds);
    } catch (const std::exception&) {
      c.torch_int8 = -1.0;  // no int8 linear in this LibTorch: reported as absent, not as zero speed
    }
  }
  return c;
}

void report_gemm(State& st, double seconds, int64_t m, int64_t n, int64_t k) {
  const double total = 2.0 * double(m) * double(n) * double(k) * double(st.iterations());
  st.SetItemsProcessed(int64_t(total));
  if (seconds <= 0) return;
  const double rate = total / seconds;
  const GemmCeiling& c = gemm_ceiling(m, n, k);  // after the timed loop: never inside the measurement
  if (c.torch_f32 > 0) st.counters["frac_torch_f32_mm"] = rate / c.torch_f32;
  if (c.torch_int8 > 0) st.counters["frac_torch_int8"] = rate / c.torch_int8;
  const double best = std::max(c.torch_f32, c.torch_int8);
  if (best > 0) st.counters["frac_best_library"] = rate / best;
}

// A ceiling benchmark times its library call and leaves the ops/s in the table (the last call of the
// function is the one Google Benchmark reports, and it overwrites the earlier estimates).
template <class Gemm>
void run_torch_ceiling(State& st, double GemmCeiling::*slot) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  std::unique_ptr<Gemm> g;
  try {
    g = std::make_unique<Gemm>(m, n, k);
    g->run();  // warm-up: first-touch of the output, oneDNN primitive creation
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    for (auto _ : st) {
    }
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) g->run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ops = 2.0 * double(m) * double(n) * double(k) * double(st.iterations());
  g_gemm_ceilings[GemmKey{m, n, k}].*slot = ops / seconds;
  st.SetItemsProcessed(int64_t(ops));
}

// ---- kernels ------------------------------------------------------------------------------------

enum class PerTokenVariant { plain, migration, lmdeploy_options };

void bm_quantize_per_token(State& st, CpuIsa isa, DType dt, PerTokenVariant variant) {
  g_cache.new_generation();
  const int64_t t = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(t * c);
  const HostBuffer& x = float_input("x", dt, n, 11);
  const HostBuffer& s = positive_input("s", std::size_t(c), 12);
  HostBuffer& q = output("q", DType::i8, n);
  HostBuffer& scale = output("scale", DType::f32, std::size_t(t));
  const ActQuantOptions o = variant == PerTokenVariant::lmdeploy_options ? lmdeploy_triton_act_quant() : vllm_dynamic_act_quant();
  const float* migration = variant == PerTokenVariant::migration ? s.as<float>() : nullptr;
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.quantize_per_token(ConstMatrix{x.data(), dt, t, c, c}, migration, o, MutMatrix{q.data(), DType::i8, t, c, c},
                         scale.as<float>());
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock,
               double(n) * (dtype_size(dt) + 1) + double(t) * 4 + (migration ? double(c) * 4 : 0.0));
}

void bm_quantize_per_tensor(State& st, CpuIsa isa, DType dt) {
  g_cache.new_generation();
  const int64_t t = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(t * c);
  const HostBuffer& x = float_input("x", dt, n, 11);
  HostBuffer& q = output("q", DType::i8, n);
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.quantize_per_tensor(ConstMatrix{x.data(), dt, t, c, c}, nullptr, 0.015f, vllm_static_act_quant(),
                          MutMatrix{q.data(), DType::i8, t, c, c});
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(n) * (dtype_size(dt) + 1));
}

void bm_rmsnorm_quantize(State& st, CpuIsa isa, DType dt) {
  g_cache.new_generation();
  const int64_t t = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(t * c);
  const HostBuffer& x = float_input("x", dt, n, 11);
  const HostBuffer& w = float_input("norm_w", dt, std::size_t(c), 13);
  HostBuffer& q = output("q", DType::i8, n);
  HostBuffer& scale = output("scale", DType::f32, std::size_t(t));
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.rmsnorm_quantize(ConstMatrix{x.data(), dt, t, c, c}, ConstVector{w.data(), dt, c}, 1e-5f, vllm_dynamic_act_quant(),
                       MutMatrix{q.data(), DType::i8, t, c, c}, scale.as<float>());
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(n) * (dtype_size(dt) + 1) + double(c) * dtype_size(dt) + double(t) * 4);
}

void bm_channel_stats(State& st, CpuIsa isa, DType dt) {
  g_cache.new_generation();
  const int64_t t = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(t * c);
  const HostBuffer& x = float_input("x", dt, n, 11);
  HostBuffer& out = output("stats", DType::f32, std::size_t(5 * c));
  float* o = out.as<float>();
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.channel_stats(ConstMatrix{x.data(), dt, t, c, c},
                    kernels::ChannelStatsOut{o, o + c, o + 2 * c, o + 3 * c, o + 4 * c});
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(n) * dtype_size(dt) + 5.0 * double(c) * 4);
}

// weight_stat over one fc [rows, cols] (the statistic of a group of fcs is the same pass over more rows).
void bm_weight_stat(State& st, CpuIsa isa, DType dt, Recipe recipe) {
  g_cache.new_generation();
  const int64_t r = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(r * c);
  const HostBuffer& w = float_input("w", dt, n, 21);
  HostBuffer& out = output("wstat", DType::f32, std::size_t(c));
  const ConstMatrix fc{w.data(), dt, r, c, c};
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.weight_stat(&fc, 1, recipe, 0, out.as<float>());
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(n) * dtype_size(dt) + double(c) * 4);
}

void bm_quantize_weight(State& st, CpuIsa isa, DType dt, WeightQuant variant) {
  g_cache.new_generation();
  const int64_t r = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(r * c);
  const HostBuffer& w = float_input("w", dt, n, 21);
  HostBuffer& q = output("qw", DType::i8, n);
  HostBuffer& scale = output("wscale", DType::f32, std::size_t(r));
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.quantize_weight(ConstMatrix{w.data(), dt, r, c, c}, variant, MutMatrix{q.data(), DType::i8, r, c, c},
                      scale.as<float>());
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(n) * (dtype_size(dt) + 1) + double(r) * 4);
}

enum class Smoothing { scale_columns, divide_rows };

// In place on a private copy of the weight: each iteration alternates s and 1/s (powers of two) so the
// weight never drifts.
void bm_apply_smoothing(State& st, CpuIsa isa, DType dt, Smoothing which) {
  g_cache.new_generation();
  const int64_t r = st.range(0), c = st.range(1);
  const std::size_t n = std::size_t(r * c);
  const int64_t ns = which == Smoothing::scale_columns ? c : r;
  HostBuffer& w = float_input("w_inplace", dt, n, 22);
  HostBuffer& s = g_cache.get(key_of("s_pow2", DType::f32, std::size_t(ns)), std::size_t(ns) * 4, [&] {
    HostBuffer a, inv;
    make_power_of_two_pair(std::size_t(ns), 23, &a, &inv);
    HostBuffer both(std::size_t(ns) * 8);
    std::memcpy(both.as<float>(), a.data(), std::size_t(ns) * 4);
    std::memcpy(both.as<float>() + ns, inv.data(), std::size_t(ns) * 4);
    return both;
  });
  Backend& b = backend(isa);
  bool forward = true;
  const WallClock clock;
  for (auto _ : st) {
    const float* scales = s.as<float>() + (forward ? 0 : ns);
    const MutMatrix view{w.data(), dt, r, c, c};
    if (which == Smoothing::scale_columns) {
      b.scale_columns(view, scales);
    } else {
      b.divide_rows(view, scales);
    }
    forward = !forward;
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, 2.0 * double(n) * dtype_size(dt) + double(ns) * 4);
}

void bm_divide_vector(State& st, CpuIsa isa, DType dt) {
  g_cache.new_generation();
  const int64_t c = st.range(0);
  HostBuffer& v = float_input("v_inplace", dt, std::size_t(c), 24);
  HostBuffer a, inv;
  make_power_of_two_pair(std::size_t(c), 25, &a, &inv);
  Backend& b = backend(isa);
  bool forward = true;
  const WallClock clock;
  for (auto _ : st) {
    b.divide_vector(MutVector{v.data(), dt, c}, (forward ? a : inv).as<float>());
    forward = !forward;
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, 2.0 * double(c) * dtype_size(dt) + double(c) * 4);
}

void bm_smooth_scale(State& st, CpuIsa isa, Recipe recipe) {
  g_cache.new_generation();
  const int64_t c = st.range(0);
  const HostBuffer& a = positive_input("act_stat", std::size_t(c), 31);
  const HostBuffer& w = positive_input("w_stat", std::size_t(c), 32);
  const HostBuffer& norm = positive_input("norm_f32", std::size_t(c), 33);
  HostBuffer& s = output("smooth_s", DType::f32, std::size_t(c));
  const float* norm_weight = recipe == Recipe::lmdeploy ? norm.as<float>() : nullptr;
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    b.smooth_scale(a.as<float>(), w.as<float>(), norm_weight, c, recipe, 0.5f, s.as<float>());
    benchmark::ClobberMemory();
  }
  report_bytes(st, clock, double(c) * 4 * (norm_weight ? 4 : 3));
}

// out: i32 for gemm_s8s8s32, else gemm_w8a8 with that output dtype and epilogue.
void bm_gemm(State& st, CpuIsa isa, DType out_dtype, Epilogue epilogue) {
  g_cache.new_generation();
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  const HostBuffer& a = int8_input("qa", std::size_t(m * k), 41);
  const HostBuffer& w = int8_input("qw_gemm", std::size_t(n * k), 42);
  const HostBuffer& sa = positive_input("scale_a", std::size_t(m), 43);
  const HostBuffer& sb = positive_input("scale_b", std::size_t(n), 44);
  HostBuffer& out = output("gemm_out", out_dtype, std::size_t(m * n));
  const ConstMatrix am{a.data(), DType::i8, m, k, k}, bm{w.data(), DType::i8, n, k, k};
  const MutMatrix om{out.data(), out_dtype, m, n, n};
  Backend& b = backend(isa);
  const WallClock clock;
  for (auto _ : st) {
    if (out_dtype == DType::i32) {
      b.gemm_s8s8s32(am, bm, om);
    } else {
      b.gemm_w8a8(am, bm, sa.as<float>(), sb.as<float>(), ConstVector{nullptr, out_dtype, 0}, epilogue, om);
    }
    benchmark::ClobberMemory();
  }
  report_gemm(st, clock.seconds(), m, n, k);
}

// ---- the copy ceiling as rows of the run ----------------------------------------------------------

// scale: STREAM's b[i] = 2 a[i] instead of memcpy (copy_bandwidth.h says why both are measured).
void bm_copy(State& st, int threads, bool scale) {
  auto& [src, dst] = copy_buffers();
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

void register_all() {
  const std::vector<CpuIsa> quant_isas = kernels::cpu_supports_avx2()
                                             ? std::vector<CpuIsa>{CpuIsa::best, CpuIsa::scalar}
                                             : std::vector<CpuIsa>{CpuIsa::best};
  const DType act_dtypes[] = {DType::f32, DType::bf16};

  // Copy ceilings first, so the run's first rows say what 1.0 means for the bandwidth-bound kernels
  // (they are rows for the record: the fractions use the measurement main() made before the run).
  const std::string threads = "/threads:" + std::to_string(g_threads);
  add("ceiling/memcpy/MiB:256", [](State& st) { bm_copy(st, 1, false); });
  add("ceiling/threaded_copy/MiB:256" + threads, [](State& st) { bm_copy(st, g_threads, false); });
  add("ceiling/stream_scale/MiB:256" + threads, [](State& st) { bm_copy(st, g_threads, true); });

  for (DType dt : act_dtypes) {
    const std::string d = to_string(dt);
    for (CpuIsa isa : quant_isas) {
      const std::string i = isa_name(isa);
      activation_args(add(join({"quantize_per_token", d, i}),
                          [=](State& st) { bm_quantize_per_token(st, isa, dt, PerTokenVariant::plain); }));
      activation_args(add(join({"quantize_per_token_migration", d, i}),
                          [=](State& st) { bm_quantize_per_token(st, isa, dt, PerTokenVariant::migration); }));
      activation_args(add(join({"quantize_per_token_lmdeploy_options", d, i}),
                          [=](State& st) { bm_quantize_per_token(st, isa, dt, PerTokenVariant::lmdeploy_options); }));
      activation_args(
          add(join({"quantize_per_tensor", d, i}), [=](State& st) { bm_quantize_per_tensor(st, isa, dt); }));
      activation_args(add(join({"rmsnorm_quantize", d, i}), [=](State& st) { bm_rmsnorm_quantize(st, isa, dt); }));
      weight_args(add(join({"quantize_weight", d, i}),
                      [=](State& st) { bm_quantize_weight(st, isa, dt, WeightQuant::smoothquant); }));
      activation_args(add(join({"channel_stats", d, i}), [=](State& st) { bm_channel_stats(st, isa, dt); }));
    }
    // The weight-side steps run once per checkpoint, not per token: their best ISA only.
    const CpuIsa best = CpuIsa::best;
    const std::string i = isa_name(best);
    for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy})
      weight_args(add(join({"weight_stat", d, to_string(r), i}), [=](State& st) { bm_weight_stat(st, best, dt, r); }));
    weight_args(add(join({"scale_columns", d, i}),
                    [=](State& st) { bm_apply_smoothing(st, best, dt, Smoothing::scale_columns); }));
    weight_args(
        add(join({"divide_rows", d, i}), [=](State& st) { bm_apply_smoothing(st, best, dt, Smoothing::divide_rows); }));
    channel_args(add(join({"divide_vector", d, i}), [=](State& st) { bm_divide_vector(st, best, dt); }));
  }
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    channel_args(add(join({"smooth_scale", to_string(r), isa_name(CpuIsa::best)}),
                     [=](State& st) { bm_smooth_scale(st, CpuIsa::best, r); }));

  // GEMMs, shape by shape: the LibTorch ceilings of a shape run just before its kernels. AVX2 only: the
  // portable GEMM is a plain dot-product loop, the fallback for CPUs without AVX2, kept for correctness
  // rather than speed.
  struct GemmVariant {
    std::string name;
    DType out;
    Epilogue epilogue;
  };
  const GemmVariant variants[] = {{"gemm_s8s8s32", DType::i32, Epilogue::vllm},
                                  {"gemm_w8a8/f32/vllm", DType::f32, Epilogue::vllm},
                                  {"gemm_w8a8/bf16/vllm", DType::bf16, Epilogue::vllm},
                                  {"gemm_w8a8/bf16/lmdeploy", DType::bf16, Epilogue::lmdeploy}};
  for (const LinearShape& l : kLinears)
    for (int64_t m : kTokens) {
      auto shape = [&](benchmark::internal::Benchmark* b) {
        b->Args({m, l.n, l.k})->ArgNames({"M", "N", "K"});
        if (m >= kLongGemmM) b->Iterations(1);  // seconds per call on a 2-core machine
      };
      shape(
          add("ceiling/torch_mm_f32", [](State& st) { run_torch_ceiling<TorchF32Gemm>(st, &GemmCeiling::torch_f32); }));
      shape(add("ceiling/torch_linear_dynamic_int8_onednn",
                [](State& st) { run_torch_ceiling<TorchInt8Gemm>(st, &GemmCeiling::torch_int8); }));
      for (const GemmVariant& v : variants)
        shape(add(join({v.name, isa_name(CpuIsa::best)}),
                  [=](State& st) { bm_gemm(st, CpuIsa::best, v.out, v.epilogue); }));
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

  sb::g_copy = sb::measure_copy_bandwidth(sb::kCopyBytes, sb::g_threads, 3);
  char line[320];
  std::snprintf(line, sizeof line,
                "%.3f GB/s, the best of memcpy %.3f, %d-thread copy %.3f, %d-thread stream scale %.3f GB/s "
                "(read + write, %zu MiB)",
                sb::g_copy.best() / 1e9, sb::g_copy.single_thread / 1e9, sb::g_copy.threads, sb::g_copy.threaded / 1e9,
                sb::g_copy.threads, sb::g_copy.stream_scale / 1e9, sb::kCopyBytes >> 20);
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
