// W8A8 GEMM (numerics.md §7): exact int32 accumulators, then the vLLM and lmdeploy epilogues.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "harness/differential/case_helpers.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/compare.h"
#include "harness/differential/generators.h"

namespace smoothcheck::cases {
namespace {

// int8 operand distributions: the full range, CUTLASS's small range [-2, 2], the extremes (the largest
// accumulators: -128 * -128 products), and mostly zero.
enum class CodeDistribution { full, small, extremes, sparse };

const char* to_string(CodeDistribution d) {
  switch (d) {
    case CodeDistribution::full: return "full";
    case CodeDistribution::small: return "small";
    case CodeDistribution::extremes: return "extremes";
    case CodeDistribution::sparse: return "sparse";
  }
  return "?";
}

std::vector<double> generate_codes(int64_t rows, int64_t cols, CodeDistribution d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> full(-128, 127), small(-2, 2), coin(0, 1), percent(0, 99);
  std::vector<double> out(std::size_t(rows * cols));
  for (double& v : out) {
    switch (d) {
      case CodeDistribution::full: v = full(rng); break;
      case CodeDistribution::small: v = small(rng); break;
      case CodeDistribution::extremes: v = coin(rng) ? -128 : (coin(rng) ? 127 : -128); break;
      case CodeDistribution::sparse: v = percent(rng) < 5 ? full(rng) : 0; break;
    }
  }
  if (!out.empty() && out[0] == 0) out[0] = 1;  // CUTLASS: element (0, 0) non-zero
  return out;
}

struct GemmShape {
  int64_t m, n, k;
  int64_t pad;  // extra elements per row of a and b
  int64_t multiply_adds() const { return m * n * k; }
  std::string name() const {
    return "m" + std::to_string(m) + "_n" + std::to_string(n) + "_k" + std::to_string(k) +
           (pad ? "_pad" + std::to_string(pad) : "");
  }
};

// How the kernel is given b: as a matrix on every call (gemm_s8s8s32, gemm_w8a8), or packed once by the
// backend (pack_gemm_weight, then gemm_*_packed).
enum class WeightForm { plain, prepacked };

const char* to_string(WeightForm w) { return w == WeightForm::plain ? "plain" : "prepacked"; }

// A weight packed from a scratch copy of b (same row stride), the copy then overwritten and kept alive
// until the kernel has run: a packed weight that still reads b instead of owning its bytes computes with
// the overwritten values and fails the case (reading, not crashing).
struct PrepackedWeight {
  std::vector<int8_t> scratch;
  std::unique_ptr<kernels::PackedGemmWeight> packed;
};

PrepackedWeight prepack(kernels::Backend& backend, const HostTensor& b) {
  const kernels::ConstMatrix m = b.matrix();
  PrepackedWeight w{std::vector<int8_t>(std::size_t(m.rows * m.row_stride), int8_t(0x5A)), nullptr};
  for (int64_t r = 0; r < m.rows; ++r)
    std::memcpy(&w.scratch[std::size_t(r * m.row_stride)], static_cast<const int8_t*>(m.data) + r * m.row_stride,
                std::size_t(m.cols));
  w.packed = backend.pack_gemm_weight(kernels::ConstMatrix{w.scratch.data(), DType::i8, m.rows, m.cols, m.row_stride});
  std::fill(w.scratch.begin(), w.scratch.end(), int8_t(0x5A));
  return w;
}

// The int8 operands a [M, K] and b [N, K], declared as the case's inputs "a" and "b".
struct GemmOperands {
  const HostTensor& a;
  const HostTensor& b;
};

GemmOperands declare_operands(CaseTensors& tensors, const GemmShape& s, CodeDistribution d, uint64_t seed) {
  return {tensors.input_matrix("a", DType::i8, s.m, s.k, s.pad, generate_codes(s.m, s.k, d, derive_seed(seed, "a"))),
          tensors.input_matrix("b", DType::i8, s.n, s.k, s.pad, generate_codes(s.n, s.k, d, derive_seed(seed, "b")))};
}

struct GemmS8S8S32Case final : Case {
  const GemmShape shape;
  const CodeDistribution distribution;
  const WeightForm weight;
  const uint64_t case_seed;
  GemmS8S8S32Case(GemmShape s, CodeDistribution d, WeightForm w, uint64_t seed)
      : shape(s), distribution(d), weight(w), case_seed(seed) {}

  std::string name() const override {
    return shape.name() + "/" + to_string(distribution) + "/" + to_string(weight) + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return shape.multiply_adds(); }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    const GemmOperands ops = declare_operands(tensors, shape, distribution, case_seed);
    HostTensor& acc = tensors.output_matrix("acc", DType::i32, shape.m, shape.n, 1, ZeroOutput::fails);
    if (!tensors.run_kernel([&] {
          if (weight == WeightForm::plain) return backend.gemm_s8s8s32(ops.a.matrix(), ops.b.matrix(), acc.mut_matrix());
          const PrepackedWeight w = prepack(backend, ops.b);
          backend.gemm_s8s8s32_packed(ops.a.matrix(), *w.packed, acc.mut_matrix());
        }))
      return;
    reference::Matrix expected = reference::gemm_s8s8s32(to_reference(ops.a), to_reference(ops.b));
    compare_exact(r, "acc", acc.to_doubles(), expected.values, shape.n);  // an integer accumulator is exact (§8)
    r.keep("expected_acc", {shape.m, shape.n}, std::move(expected.values));
  }
};

// The bias: none, normal values, or bias[n] = −(the output-dtype value of row 0's sa·sb·acc), so that
// row 0's outputs are the small residual of a cancellation. There the f32 rounding of the product that
// vLLM's fused multiply-add avoids (CUTLASS multiply_add) is a large fraction of the result, and an
// unfused epilogue gives a different f16/bf16 output in a good share of row 0's elements (about half
// for f16, one in a hundred for bf16), where random biases almost never show it.
enum class BiasKind { none, normal, cancels_row0 };

const char* to_string(BiasKind b) {
  switch (b) {
    case BiasKind::none: return "nobias";
    case BiasKind::normal: return "bias";
    case BiasKind::cancels_row0: return "bias_cancels_row0";
  }
  return "?";
}

struct GemmW8A8Case final : Case {
  const GemmShape shape;
  const CodeDistribution distribution;
  const Epilogue epilogue;
  const DType out_dtype;
  const BiasKind bias_kind;
  const bool with_bias;
  const WeightForm weight;
  const uint64_t case_seed;
  GemmW8A8Case(GemmShape s, CodeDistribution d, Epilogue e, DType o, BiasKind bias, WeightForm w, uint64_t seed)
      : shape(s), distribution(d), epilogue(e), out_dtype(o), bias_kind(bias), with_bias(bias != BiasKind::none),
        weight(w), case_seed(seed) {}

  std::string name() const override {
    return shape.name() + "/" + to_string(distribution) + "/" + to_string(epilogue) + "/" + to_string(out_dtype) + "/" +
           to_string(bias_kind) + "/" + to_string(weight) + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return shape.multiply_adds(); }

  void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& r) const override {
    const GemmOperands ops = declare_operands(tensors, shape, distribution, case_seed);
    // Per-token and per-channel scales of realistic size: |acc| <= 2^14 K, outputs stay inside f16's range.
    std::vector<double> sa = generate_positive_scales(shape.m, derive_seed(case_seed, "sa"), false);
    std::vector<double> sb = generate_positive_scales(shape.n, derive_seed(case_seed, "sb"), false);
    const double shrink = 1.0 / (256.0 * double(shape.k));
    for (double& v : sa) v = double(float(v * 0.0625));
    for (double& v : sb) v = double(float(v * shrink));
    std::vector<double> bias_values;
    if (bias_kind == BiasKind::normal) {
      bias_values = generate_matrix(1, shape.n, Distribution::normal, derive_seed(case_seed, "bias"), out_dtype);
    } else if (bias_kind == BiasKind::cancels_row0) {
      const reference::Matrix acc0 = reference::gemm_s8s8s32(to_reference(ops.a), to_reference(ops.b));
      for (int64_t n = 0; n < shape.n; ++n)
        bias_values.push_back(-reference::round_to_dtype(sa[0] * sb[std::size_t(n)] * acc0.at(0, n), out_dtype));
    }
    const HostTensor& scale_a = tensors.input_vector("scale_a", DType::f32, sa);
    const HostTensor& scale_b = tensors.input_vector("scale_b", DType::f32, sb);
    const kernels::ConstVector bias = with_bias ? tensors.input_vector("bias", out_dtype, bias_values).const_vector()
                                                : kernels::ConstVector{nullptr, out_dtype, 0};
    HostTensor& out = tensors.output_matrix("out", out_dtype, shape.m, shape.n, 2, ZeroOutput::fails);
    if (!tensors.run_kernel([&] {
          if (weight == WeightForm::plain)
            return backend.gemm_w8a8(ops.a.matrix(), ops.b.matrix(), scale_a.f32(), scale_b.f32(), bias, epilogue,
                                     out.mut_matrix());
          const PrepackedWeight w = prepack(backend, ops.b);
          backend.gemm_w8a8_packed(ops.a.matrix(), *w.packed, scale_a.f32(), scale_b.f32(), bias, epilogue,
                                   out.mut_matrix());
        }))
      return;

    reference::Matrix acc = reference::gemm_s8s8s32(to_reference(ops.a), to_reference(ops.b));
    reference::GemmOutput ref = reference::gemm_w8a8(acc, sa, sb, bias_values, epilogue, out_dtype);
    const std::vector<double> actual = out.to_doubles();
    const double u = unit_roundoff(DType::f32);
    if (epilogue == Epilogue::vllm) {
      // vLLM: ref.rounded models its f32 arithmetic step by step (float(acc), sb·acc, one fused multiply-add
      // with sa and the bias, then the output dtype): the kernel must equal it bit for bit, in every dtype.
      compare_exact(r, "out", actual, ref.rounded.values, shape.n);
      // And that f32 arithmetic stays within its error of the exact value, re-derived from the inputs:
      // float(acc) and sb·acc (2u of |sa sb acc|), the fma's one rounding (u of |D|), then the output
      // dtype's rounding (u_out of |D|; 0 for f32) and, in f16, its subnormal spacing.
      const double u_out = out_dtype == DType::f32 ? 0.0 : unit_roundoff(out_dtype);
      const double out_tiny = std::ldexp(1.0, out_dtype == DType::f16 ? -25 : (out_dtype == DType::bf16 ? -134 : -150));
      compare_within_bound(r, "out", actual, ref.exact.values, shape.n, [&](std::size_t i) {
        int64_t m = int64_t(i) / shape.n, n = int64_t(i) % shape.n;
        double product = std::fabs(sa[std::size_t(m)] * sb[std::size_t(n)] * acc.values[i]);
        double d = std::fabs(ref.exact.values[i]);
        return ((2 * u * product + u * d) * (1 + u_out) + u_out * d) * 1.0001 + out_tiny + std::ldexp(1.0, -140);
      });
    } else if (out_dtype == DType::f32) {
      // lmdeploy, f32 output: its own f32 arithmetic (float(acc) and two products, 3u of |sa sb acc|; the
      // bias addition, u of |D|) is the output's error, a few ulps either way.
      auto bound = [&](std::size_t i) {
        int64_t m = int64_t(i) / shape.n, n = int64_t(i) % shape.n;
        double product = std::fabs(sa[std::size_t(m)] * sb[std::size_t(n)] * acc.values[i]);
        return (3 * u * product + u * std::fabs(ref.exact.values[i])) * 1.0001 + std::ldexp(1.0, -140);
      };
      compare_within_bound(r, "out", actual, ref.exact.values, shape.n, bound);
    } else {
      // lmdeploy, f16/bf16 output: its correctly rounded value (ref.rounded: sa sb acc rounded to the output
      // dtype, then its sum with the bias), with zero slack. Only where the exact product lies within the
      // f32 arithmetic's error of an output rounding boundary may the kernel land on the other side: the
      // alternatives are the same epilogue evaluated at the ends of that error interval, counted and noted
      // by compare_rounded_at_boundaries.
      std::vector<double> low(actual.size()), high(actual.size());
      const double tiny = std::ldexp(1.0, -140);  // f32 underflow in the products
      for (std::size_t i = 0; i < actual.size(); ++i) {
        int64_t m = int64_t(i) / shape.n, n = int64_t(i) % shape.n;
        const double product = sa[std::size_t(m)] * sb[std::size_t(n)] * acc.values[i];
        const double b = with_bias ? bias_values[std::size_t(n)] : 0.0;
        const double err = 3 * u * std::fabs(product) * 1.0001 + tiny;
        low[i] = reference::round_to_dtype(reference::round_to_dtype(product - err, out_dtype) + b, out_dtype);
        high[i] = reference::round_to_dtype(reference::round_to_dtype(product + err, out_dtype) + b, out_dtype);
      }
      compare_rounded_at_boundaries(r, "out", actual, ref.rounded.values, low, high, shape.n, out_dtype);
    }
    r.metric("out/nmse", nmse(actual, ref.exact.values));
    r.keep("expected_out", {shape.m, shape.n}, std::move(ref.rounded.values));
  }
};

// Tails in every dimension (odd K, N not a multiple of any panel), M = 1 (decode), and the LLaMA-2-7B
// linears at 16 tokens: q/k/v/o 4096x4096, gate/up 11008x4096, down 4096x11008.
std::vector<GemmShape> gemm_shapes() {
  return {{1, 1, 1, 0},       {1, 7, 17, 0},      {7, 17, 64, 3},      {17, 64, 1025, 0},  {64, 1025, 1026, 1},
          {33, 65, 4096, 0},  {5, 129, 5137, 2},  {3, 31, 8193, 0},    {2, 9, 16384, 0},   {16, 4096, 4096, 0},
          {16, 11008, 4096, 0}, {16, 4096, 11008, 0}, {256, 512, 1024, 0}};
}

// Each shape and distribution with b plain and prepacked: the prepacked weight must give the same
// accumulators at every tail, padding and K the plain call is checked at.
CaseList gemm_s8s8s32_table() {
  CaseList cases;
  for (const GemmShape& s : gemm_shapes())
    for (CodeDistribution d : {CodeDistribution::full, CodeDistribution::small, CodeDistribution::extremes,
                               CodeDistribution::sparse}) {
      if (s.multiply_adds() > (int64_t(1) << 28) && d != CodeDistribution::full) continue;  // the big shapes once
      for (WeightForm w : {WeightForm::plain, WeightForm::prepacked})
        cases.push_back(std::make_unique<GemmS8S8S32Case>(s, d, w, 1));
    }
  return cases;
}

CaseList gemm_w8a8_table() {
  CaseList cases;
  for (const GemmShape& s : gemm_shapes())
    for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy})
      for (DType o : {DType::f32, DType::f16, DType::bf16})
        for (BiasKind bias : {BiasKind::none, BiasKind::normal}) {
          if (s.multiply_adds() > (int64_t(1) << 28) && (o != DType::bf16 || bias != BiasKind::none)) continue;
          cases.push_back(std::make_unique<GemmW8A8Case>(s, CodeDistribution::full, e, o, bias, WeightForm::plain, 1));
        }
  // The prepacked weight through the epilogue: the same accumulators (gemm_s8s8s32's table checks them at
  // every shape), so each epilogue and output dtype once per shape, with a bias, and the big shapes once.
  for (const GemmShape& s : gemm_shapes())
    for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy})
      for (DType o : {DType::f32, DType::f16, DType::bf16}) {
        if (s.multiply_adds() > (int64_t(1) << 28) && (o != DType::bf16 || e != Epilogue::vllm)) continue;
        cases.push_back(
            std::make_unique<GemmW8A8Case>(s, CodeDistribution::full, e, o, BiasKind::normal, WeightForm::prepacked, 1));
      }
  // Fused versus unfused: row 0 cancelled by the bias, with N wide enough that bf16 shows the difference
  // in several elements (vLLM's fma; lmdeploy's rounding before the bias on the same inputs).
  for (const GemmShape& s : std::vector<GemmShape>{{7, 17, 64, 3}, {4, 4096, 64, 0}, {3, 1025, 1026, 1}})
    for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy})
      for (DType o : {DType::f32, DType::f16, DType::bf16})
        cases.push_back(
            std::make_unique<GemmW8A8Case>(s, CodeDistribution::full, e, o, BiasKind::cancels_row0, WeightForm::plain, 2));
  return cases;
}

const CaseTableRegistration gemm_s8s8s32_registration{"gemm_s8s8s32", gemm_s8s8s32_table};
const CaseTableRegistration gemm_w8a8_registration{"gemm_w8a8", gemm_w8a8_table};

}  // namespace
}  // namespace smoothcheck::cases
