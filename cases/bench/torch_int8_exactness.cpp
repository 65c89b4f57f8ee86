// Is LibTorch's int8 linear exact on this CPU? The CPU suite's int8 ceiling (torch_gemm_ceilings.h) is
// quantized::linear_dynamic over a weight packed by quantized::linear_prepack, on the oneDNN engine; a
// ceiling that saturates or drops precision somewhere (vpmaddubsw's int16 pair sums, fbgemm-style
// reduce_range) would be faster than any exact kernel and not comparable with one. This program feeds it
// inputs whose quantisation is lossless and compares its output with the exact int32 product:
//   - activations x [M, K]: integer-valued floats, uniform over [-128, 127] (or [-64, 63] with
//     reduce_range, its 7-bit range), row 0 holding both ends, so the dynamic per-tensor quantisation
//     picks scale (max - min) / (qmax - qmin) = 1 and zero point -min: x_q = x - min, exactly;
//   - weights w [N, K]: integer-valued floats, uniform over [-128, 127], per-channel qint8 with scale 1 and
//     zero point 0: w_q = w, exactly;
//   - so out = 1 · 1 · sum_k x·w: the exact int32 product, rounded once to float32 on the way out.
// Each output is compared with float(acc), acc the exact product (smoothcheck's gemm_s8s8s32, which the
// differential tests hold to LibTorch's float64 reference; here also spot-checked against an int64
// dot product), and the largest |out - acc| is reported in units of the scale product (1 here). Both
// engines' speed at the shape is reported beside (best of a few calls, the GEMM prepacked like the
// library's weight).
//
// usage: torch_int8_exactness [--quick]  (prints a markdown table; ONEDNN_VERBOSE=1 shows the kernel
// oneDNN picked, ONEDNN_MAX_CPU_ISA=AVX2 restricts it as on a CPU without AVX-512/VNNI)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cases/bench/llama_shapes.h"
#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::bench {
namespace {

std::vector<int8_t> uniform_codes(int64_t rows, int64_t cols, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(lo, hi);
  std::vector<int8_t> v(std::size_t(rows * cols));
  for (int8_t& x : v) x = int8_t(u(rng));
  return v;
}

at::Tensor as_float(const std::vector<int8_t>& codes, int64_t rows, int64_t cols) {
  return at::from_blob(const_cast<int8_t*>(codes.data()), {rows, cols}, at::kChar).to(at::kFloat);
}

double best_seconds(const std::function<void()>& call, int calls) {
  call();  // warm-up: first touch, primitive creation
  double best = 1e30;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

struct Finding {
  int64_t differing = 0;       // outputs != float(acc)
  double max_deviation = 0.0;  // max |out - acc|, in units of the scale product
  int64_t spot_mismatches = 0;  // acc entries that disagree with an int64 dot product (must be 0)
  double torch_gops = 0.0, ours_gops = 0.0;
};

Finding measure(int64_t m, int64_t n, int64_t k, bool reduce_range, kernels::Backend& backend, int calls) {
  const int lo = reduce_range ? -64 : -128, hi = reduce_range ? 63 : 127;
  std::vector<int8_t> a = uniform_codes(m, k, lo, hi, uint32_t(m * 31 + k));
  const std::vector<int8_t> w = uniform_codes(n, k, -128, 127, uint32_t(n * 17 + k));
  a[0] = int8_t(lo);
  a[1] = int8_t(hi);

  // The exact product, and an int64 spot check of it.
  std::vector<int32_t> acc(std::size_t(m * n));
  const kernels::ConstMatrix am{a.data(), DType::i8, m, k, k}, wm{w.data(), DType::i8, n, k, k};
  const auto packed = backend.pack_gemm_weight(wm);
  const kernels::MutMatrix accm{acc.data(), DType::i32, m, n, n};
  backend.gemm_s8s8s32_packed(am, *packed, accm);
  Finding f;
  std::mt19937 rng(5);
  for (int i = 0; i < 1000; ++i) {
    const int64_t r = int64_t(rng() % uint32_t(m)), c = int64_t(rng() % uint32_t(n));
    int64_t s = 0;
    for (int64_t j = 0; j < k; ++j) s += int64_t(a[std::size_t(r * k + j)]) * int64_t(w[std::size_t(c * k + j)]);
    f.spot_mismatches += s != acc[std::size_t(r * n + c)];
  }

  const at::Tensor x = as_float(a, m, k);
  const at::Tensor qw = at::quantize_per_channel(as_float(w, n, k), at::ones({n}, at::kDouble),
                                                 at::zeros({n}, at::kLong), 0, at::kQInt8);
  auto& dispatcher = c10::Dispatcher::singleton();
  const auto prepack = dispatcher.findSchemaOrThrow("quantized::linear_prepack", "");
  const auto linear = dispatcher.findSchemaOrThrow("quantized::linear_dynamic", "");
  std::vector<c10::IValue> stack{c10::IValue(qw), c10::IValue()};
  prepack.callBoxed(&stack);
  const c10::IValue packed_w = stack.at(0);
  at::Tensor out;
  auto run_torch = [&] {
    std::vector<c10::IValue> s{c10::IValue(x), packed_w, c10::IValue(reduce_range)};
    linear.callBoxed(&s);
    out = s.at(0).toTensor();
  };
  run_torch();
  const at::Tensor y = out.contiguous();
  const float* yp = y.data_ptr<float>();
  for (int64_t i = 0; i < m * n; ++i) {
    const double exact = double(acc[std::size_t(i)]);
    f.differing += yp[i] != float(acc[std::size_t(i)]);
    f.max_deviation = std::max(f.max_deviation, std::fabs(double(yp[i]) - exact));
  }

  const double ops = 2.0 * double(m) * double(n) * double(k);
  f.torch_gops = ops / best_seconds(run_torch, calls) / 1e9;
  f.ours_gops = ops / best_seconds([&] { backend.gemm_s8s8s32_packed(am, *packed, accm); }, calls) / 1e9;
  return f;
}

}  // namespace
}  // namespace smoothcheck::bench

int main(int argc, char** argv) {
  namespace sb = smoothcheck::bench;
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int threads = std::max(1, int(std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  at::globalContext().setQEngine(at::QEngine::ONEDNN);
  auto backend = smoothcheck::kernels::make_cpu_backend({smoothcheck::kernels::CpuIsa::best, threads});
  const char* isa_cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  std::printf("LibTorch quantized::linear_dynamic (oneDNN engine%s%s), %d threads; exact: smoothcheck %s\n\n",
              isa_cap ? ", ONEDNN_MAX_CPU_ISA=" : "", isa_cap ? isa_cap : "", threads, backend->name().c_str());
  std::printf("| reduce_range | M | N | K | outputs != float(exact) | max abs deviation (scale units) | "
              "LibTorch GOP/s | smoothcheck prepacked GOP/s | smoothcheck / LibTorch |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  int bad_spot = 0;
  for (bool reduce_range : {false, true})
    for (int64_t m : {int64_t(16), int64_t(512)})
      for (const sb::LinearShape& l : sb::kLinears) {
        if (quick && (m != 16 || l.n != 4096 || l.k != 4096)) continue;
        const sb::Finding f = sb::measure(m, l.n, l.k, reduce_range, *backend, m >= 512 ? 3 : 10);
        bad_spot += f.spot_mismatches != 0;
        std::printf("| %s | %lld | %lld | %lld | %lld of %lld | %.0f | %.1f | %.1f | %.2f |\n",
                    reduce_range ? "true" : "false", (long long)m, (long long)l.n, (long long)l.k,
                    (long long)f.differing, (long long)(m * l.n), f.max_deviation, f.torch_gops, f.ours_gops,
                    f.ours_gops / f.torch_gops);
        std::fflush(stdout);
      }
  if (bad_spot) std::printf("\nsmoothcheck's accumulators disagreed with the int64 spot check: not a valid comparison\n");
  return bad_spot ? 1 : 0;
}
