#include "cases/bench/torch_gemm_ceilings.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "cases/bench/llama_shapes.h"

namespace smoothcheck::bench {
namespace {

using benchmark::State;

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

}  // namespace

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

void run_torch_f32_mm_ceiling(State& st) { run_torch_ceiling<TorchF32Gemm>(st, &GemmCeiling::torch_f32); }
void run_torch_int8_linear_ceiling(State& st) { run_torch_ceiling<TorchInt8Gemm>(st, &GemmCeiling::torch_int8); }

}  // namespace smoothcheck::bench
