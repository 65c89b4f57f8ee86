// W8A8 GEMM (numerics.md §7): exact int32 accumulators, then the vLLM and lmdeploy epilogues.
#include <cmath>
#include <random>

#include "cases/case_tables.h"
#include "harness/case_helpers.h"
#include "harness/compare.h"
#include "harness/generators.h"

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

struct GemmOperands {
  HostTensor a, b;
  uint64_t a_sum, b_sum;
};

GemmOperands make_operands(const GemmShape& s, CodeDistribution d, uint64_t seed) {
  GemmOperands ops{make_tensor(DType::i8, s.m, s.k, s.pad, generate_codes(s.m, s.k, d, derive_seed(seed, "a"))),
                   make_tensor(DType::i8, s.n, s.k, s.pad, generate_codes(s.n, s.k, d, derive_seed(seed, "b"))), 0, 0};
  ops.a_sum = ops.a.checksum();
  ops.b_sum = ops.b.checksum();
  return ops;
}

struct GemmS8S8S32Case final : Case {
  const GemmShape shape;
  const CodeDistribution distribution;
  const uint64_t case_seed;
  GemmS8S8S32Case(GemmShape s, CodeDistribution d, uint64_t seed) : shape(s), distribution(d), case_seed(seed) {}

  std::string name() const override { return shape.name() + "/" + to_string(distribution) + "/" + seed_name(case_seed); }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return shape.multiply_adds(); }

  CaseResult run(kernels::Backend& backend) const override {
    CaseResult r;
    GemmOperands ops = make_operands(shape, distribution, case_seed);
    HostTensor acc = make_output(DType::i32, shape.m, shape.n, 1);
    if (!run_kernel(r, [&] { backend.gemm_s8s8s32(ops.a.matrix(), ops.b.matrix(), acc.mut_matrix()); })) return r;
    check_guards(r, "acc", acc);
    check_unmodified(r, "a", ops.a_sum, ops.a);
    check_unmodified(r, "b", ops.b_sum, ops.b);
    reference::Matrix expected = reference::gemm_exact(to_reference(ops.a), to_reference(ops.b));
    std::vector<double> actual = acc.to_doubles();
    compare_exact(r, "acc", actual, expected.values, shape.n);  // an integer accumulator is exact (§8)
    check_not_all_zero(r, "acc", actual);
    if (!r.failures.empty()) {
      r.keep("a", {shape.m, shape.k}, ops.a.to_doubles());
      r.keep("b", {shape.n, shape.k}, ops.b.to_doubles());
      r.keep("expected_acc", {shape.m, shape.n}, expected.values);
      r.keep("actual_acc", {shape.m, shape.n}, actual);
    }
    return r;
  }
};

struct GemmW8A8Case final : Case {
  const GemmShape shape;
  const CodeDistribution distribution;
  const Epilogue epilogue;
  const DType out_dtype;
  const bool with_bias;
  const uint64_t case_seed;
  GemmW8A8Case(GemmShape s, CodeDistribution d, Epilogue e, DType o, bool bias, uint64_t seed)
      : shape(s), distribution(d), epilogue(e), out_dtype(o), with_bias(bias), case_seed(seed) {}

  std::string name() const override {
    return shape.name() + "/" + to_string(distribution) + "/" + to_string(epilogue) + "/" + to_string(out_dtype) +
           (with_bias ? "/bias" : "/nobias") + "/" + seed_name(case_seed);
  }
  uint64_t seed() const override { return case_seed; }
  int64_t work() const override { return shape.multiply_adds(); }

  CaseResult run(kernels::Backend& backend) const override {
    CaseResult r;
    GemmOperands ops = make_operands(shape, distribution, case_seed);
    // Per-token and per-channel scales of realistic size: |acc| <= 2^14 K, outputs stay inside f16's range.
    std::vector<double> sa = generate_positive_scales(shape.m, derive_seed(case_seed, "sa"), false);
    std::vector<double> sb = generate_positive_scales(shape.n, derive_seed(case_seed, "sb"), false);
    const double shrink = 1.0 / (256.0 * double(shape.k));
    for (double& v : sa) v = double(float(v * 0.0625));
    for (double& v : sb) v = double(float(v * shrink));
    std::vector<double> bias_values;
    if (with_bias) {
      bias_values = generate_matrix(1, shape.n, Distribution::normal, derive_seed(case_seed, "bias"), out_dtype);
    }
    HostTensor scale_a = make_tensor(DType::f32, 1, shape.m, 0, sa), scale_b = make_tensor(DType::f32, 1, shape.n, 0, sb);
    HostTensor bias = with_bias ? make_tensor(out_dtype, 1, shape.n, 0, bias_values) : HostTensor();
    HostTensor out = make_output(out_dtype, shape.m, shape.n, 2);
    kernels::ConstVector bias_view = with_bias ? bias.const_vector() : kernels::ConstVector{nullptr, out_dtype, 0};
    if (!run_kernel(r, [&] {
          backend.gemm_w8a8(ops.a.matrix(), ops.b.matrix(), scale_a.f32(), scale_b.f32(), bias_view, epilogue,
                            out.mut_matrix());
        }))
      return r;
    check_guards(r, "out", out);
    check_unmodified(r, "a", ops.a_sum, ops.a);
    check_unmodified(r, "b", ops.b_sum, ops.b);

    reference::Matrix acc = reference::gemm_exact(to_reference(ops.a), to_reference(ops.b));
    reference::GemmOutput ref = reference::w8a8_epilogue(acc, sa, sb, bias_values, epilogue, out_dtype);
    std::vector<double> actual = out.to_doubles();
    const double u = unit_roundoff(DType::f32);
    if (out_dtype == DType::f32) {
      // f32 output: the epilogue's own f32 arithmetic (float(acc) and two products, 3u of |sa sb acc|; the
      // bias addition, u of |D|) is the output's error, a few ulps either way, so a band it must stay
      // loose: both epilogues are within it of each other here. The f16/bf16 rows below tell them apart.
      auto bound = [&](std::size_t i) {
        int64_t m = int64_t(i) / shape.n, n = int64_t(i) % shape.n;
        double product = std::fabs(sa[std::size_t(m)] * sb[std::size_t(n)] * acc.values[i]);
        return (3 * u * product + u * std::fabs(ref.exact.values[i])) * 1.0001 + std::ldexp(1.0, -140);
      };
      compare_within_bound(r, "out", actual, ref.exact.values, shape.n, bound);
    } else {
      // f16/bf16 output: the named epilogue's correctly rounded value (ref.rounded: vLLM rounds sa sb acc +
      // bias once; lmdeploy rounds sa sb acc, then its sum with the bias), with zero slack. Only where the
      // exact value lies within the f32 arithmetic's error of an output rounding boundary may the kernel
      // land on the other side: the alternatives are the same epilogue evaluated at the ends of that error
      // interval, counted and noted by compare_rounded_at_boundaries.
      std::vector<double> low(actual.size()), high(actual.size());
      const double tiny = std::ldexp(1.0, -140);  // f32 underflow in the products
      for (std::size_t i = 0; i < actual.size(); ++i) {
        int64_t m = int64_t(i) / shape.n, n = int64_t(i) % shape.n;
        const double product = sa[std::size_t(m)] * sb[std::size_t(n)] * acc.values[i];
        const double b = with_bias ? bias_values[std::size_t(n)] : 0.0;
        if (epilogue == Epilogue::vllm) {
          const double err = (3 * u * std::fabs(product) + u * std::fabs(ref.exact.values[i])) * 1.0001 + tiny;
          low[i] = reference::round_to_dtype(ref.exact.values[i] - err, out_dtype);
          high[i] = reference::round_to_dtype(ref.exact.values[i] + err, out_dtype);
        } else {
          const double err = 3 * u * std::fabs(product) * 1.0001 + tiny;
          low[i] = reference::round_to_dtype(reference::round_to_dtype(product - err, out_dtype) + b, out_dtype);
          high[i] = reference::round_to_dtype(reference::round_to_dtype(product + err, out_dtype) + b, out_dtype);
        }
      }
      compare_rounded_at_boundaries(r, "out", actual, ref.rounded.values, low, high, shape.n, out_dtype);
    }
    r.metric("out/nmse", nmse(actual, ref.exact.values));
    check_not_all_zero(r, "out", actual);
    if (!r.failures.empty()) {
      r.keep("a", {shape.m, shape.k}, ops.a.to_doubles());
      r.keep("b", {shape.n, shape.k}, ops.b.to_doubles());
      r.keep("scale_a", {shape.m}, sa);
      r.keep("scale_b", {shape.n}, sb);
      if (with_bias) r.keep("bias", {shape.n}, bias_values);
      r.keep("expected_out", {shape.m, shape.n}, ref.rounded.values);
      r.keep("actual_out", {shape.m, shape.n}, actual);
    }
    return r;
  }
};

// Tails in every dimension (odd K, N not a multiple of any panel), M = 1 (decode), and the LLaMA-2-7B
// linears at 16 tokens: q/k/v/o 4096x4096, gate/up 11008x4096, down 4096x11008.
std::vector<GemmShape> gemm_shapes() {
  return {{1, 1, 1, 0},       {1, 7, 17, 0},      {7, 17, 64, 3},      {17, 64, 1025, 0},  {64, 1025, 1026, 1},
          {33, 65, 4096, 0},  {5, 129, 5137, 2},  {3, 31, 8193, 0},    {2, 9, 16384, 0},   {16, 4096, 4096, 0},
          {16, 11008, 4096, 0}, {16, 4096, 11008, 0}, {256, 512, 1024, 0}};
}

CaseList gemm_s8s8s32_table() {
  CaseList cases;
  for (const GemmShape& s : gemm_shapes())
    for (CodeDistribution d : {CodeDistribution::full, CodeDistribution::small, CodeDistribution::extremes,
                               CodeDistribution::sparse}) {
      if (s.multiply_adds() > (int64_t(1) << 28) && d != CodeDistribution::full) continue;  // the big shapes once
      cases.push_back(std::make_unique<GemmS8S8S32Case>(s, d, 1));
    }
  return cases;
}

CaseList gemm_w8a8_table() {
  CaseList cases;
  for (const GemmShape& s : gemm_shapes())
    for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy})
      for (DType o : {DType::f32, DType::f16, DType::bf16})
        for (bool bias : {false, true}) {
          if (s.multiply_adds() > (int64_t(1) << 28) && (o != DType::bf16 || bias)) continue;
          cases.push_back(std::make_unique<GemmW8A8Case>(s, CodeDistribution::full, e, o, bias, 1));
        }
  return cases;
}

}  // namespace

Family gemm_s8s8s32_family() { return {"gemm_s8s8s32", gemm_s8s8s32_table}; }
Family gemm_w8a8_family() { return {"gemm_w8a8", gemm_w8a8_table}; }

}  // namespace smoothcheck::cases
