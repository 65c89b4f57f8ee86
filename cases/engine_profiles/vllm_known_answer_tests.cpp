// vLLM's known answers (cases/upstream_known_answers/vllm.json, ports of vLLM's CUDA code, see that
// folder's README): the reference and the CPU backend, both paths (cpu-scalar, cpu-avx2), bit for bit on
// every case, with vLLM's options (kernels/options.h vllm_dynamic_act_quant, Epilogue::vllm); the same on
// the CUDA source executed on the CPU (cuda-emulated) and, where a GPU exists, on both CUDA engines.
//  - quantize_per_token: csrc/quantization/compressed_tensors/int8_quant_kernels.cu, absmax by fmaxf (NaN
//    skipped), scale = absmax / 127, x * (127 / absmax) with cvt.rni.sat (NaN -> 0), a ±inf row all 0.
//  - gemm_w8a8: csrc/cutlass_extensions/epilogue/scaled_mm_epilogues_c3x.hpp ScaledEpilogueBias, one
//    fma(scale_a, scale_b * float(acc), bias) in f32, then the output dtype; the *_fused_differs cases
//    are where an unfused epilogue gives another output.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cases/engine_profiles/known_answer_file.h"
#include "harness/backends.h"
#include "harness/differential/host_tensor.h"
#include "reference/reference.h"

namespace smoothcheck {
namespace {

using known_answers::KnownCase;

const known_answers::KnownAnswerFile& vllm_file() {
  static const known_answers::KnownAnswerFile f = known_answers::read_known_answer_file(
      std::filesystem::path(SMOOTHCHECK_SOURCE_DIR) / "cases" / "upstream_known_answers" / "vllm.json");
  return f;
}

std::vector<const KnownCase*> cases_of(const std::string& step) {
  std::vector<const KnownCase*> out;
  for (const KnownCase& c : vllm_file().cases)
    if (c.step == step) out.push_back(&c);
  return out;
}

reference::Matrix matrix_of(const HostTensor& t) {
  reference::Matrix m(t.rows(), t.cols());
  m.values = t.to_doubles();
  return m;
}

// Raw bit patterns (floats) or values (ints) of a dense tensor, for bit-for-bit comparison.
std::vector<uint64_t> raw(const HostTensor& t) {
  std::vector<uint64_t> out;
  const std::size_t size = dtype_size(t.dtype());
  for (int64_t i = 0; i < t.numel(); ++i) {
    uint64_t v = 0;
    std::memcpy(&v, static_cast<const char*>(t.data()) + std::size_t(i) * size, size);
    out.push_back(v);
  }
  return out;
}

// The float64 values a reference computed, stored in dtype (each already a value of it).
HostTensor stored(DType dtype, int64_t rows, int64_t cols, const std::vector<double>& values) {
  HostTensor t(dtype, rows, cols);
  t.from_doubles(values);
  return t;
}

void expect_same_bits(const HostTensor& actual, const HostTensor& expected, const std::string& what) {
  const std::vector<uint64_t> a = raw(actual), e = raw(expected);
  ASSERT_EQ(a.size(), e.size()) << what;
  int wrong = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != e[i] && wrong++ < 5)
      ADD_FAILURE() << what << " element " << i << ": got " << actual.to_doubles()[i] << " (0x" << std::hex << a[i]
                    << "), vLLM " << expected.to_doubles()[i] << " (0x" << e[i] << std::dec << ")";
  EXPECT_EQ(wrong, 0) << what << ": " << wrong << " of " << a.size() << " elements differ";
}

TEST(VllmKnownAnswers, FileHoldsBothSteps) {
  EXPECT_EQ(cases_of("quantize_per_token").size(), 4u);
  EXPECT_EQ(cases_of("gemm_w8a8").size(), 6u);
}

// The reference's f32 model of vLLM's per-token quantiser, and its float64 form (x · 127 / absmax, the
// scale correctly rounded to f32), both equal vLLM's codes and scales here.
TEST(VllmKnownAnswers, ReferencePerTokenQuantizer) {
  for (const KnownCase* c : cases_of("quantize_per_token")) {
    SCOPED_TRACE(c->name);
    const HostTensor x = c->input("x").host();
    const HostTensor q = c->output("q").host(), scale = c->output("scale").host();
    const reference::Quantized f32 = reference::quantize_per_token_f32(matrix_of(x), vllm_dynamic_act_quant());
    expect_same_bits(stored(DType::i8, x.rows(), x.cols(), f32.codes.values), q, "quantize_per_token_f32 q");
    expect_same_bits(stored(DType::f32, scale.rows(), scale.cols(), f32.scale), scale, "quantize_per_token_f32 scale");
    const reference::Quantized exact = reference::quantize_per_token(matrix_of(x), {}, vllm_dynamic_act_quant());
    expect_same_bits(stored(DType::i8, x.rows(), x.cols(), exact.codes.values), q, "quantize_per_token q");
    std::vector<double> scale_f32;
    for (double s : exact.scale) scale_f32.push_back(reference::round_to_dtype(s, DType::f32));
    expect_same_bits(stored(DType::f32, scale.rows(), scale.cols(), scale_f32), scale, "quantize_per_token scale");
  }
}

// gemm_w8a8's `rounded` (vLLM's f32 arithmetic, one fma) equals vLLM's output bit for bit.
TEST(VllmKnownAnswers, ReferenceEpilogue) {
  for (const KnownCase* c : cases_of("gemm_w8a8")) {
    SCOPED_TRACE(c->name);
    const HostTensor a = c->input("a").host(), b = c->input("b").host(), out = c->output("out").host();
    const reference::Matrix acc = reference::gemm_s8s8s32(matrix_of(a), matrix_of(b));
    const reference::GemmOutput ref = reference::gemm_w8a8(acc, c->input("scale_a").values, c->input("scale_b").values,
                                                               c->input("bias").values, Epilogue::vllm, out.dtype());
    expect_same_bits(stored(out.dtype(), out.rows(), out.cols(), ref.rounded.values), out, "gemm_w8a8 rounded");
  }
}

// The cases can tell the epilogues apart: an unfused epilogue (sa · (sb · acc) rounded to f32 before the
// bias) differs from vLLM's output in exactly params.elements_where_unfused_differs elements.
TEST(VllmKnownAnswers, UnfusedEpilogueDiffersWhereTheFileSays) {
  int fused_differs_cases = 0;
  for (const KnownCase* c : cases_of("gemm_w8a8")) {
    SCOPED_TRACE(c->name);
    const HostTensor out = c->output("out").host();
    const reference::Matrix acc = reference::gemm_s8s8s32(matrix_of(c->input("a").host()), matrix_of(c->input("b").host()));
    const std::vector<double>& sa = c->input("scale_a").values;
    const std::vector<double>& sb = c->input("scale_b").values;
    const std::vector<double>& bias = c->input("bias").values;
    const std::vector<double> expected = out.to_doubles();
    auto f32 = [](double v) { return reference::round_to_dtype(v, DType::f32); };
    int differ = 0;
    for (int64_t m = 0; m < acc.rows; ++m)
      for (int64_t n = 0; n < acc.cols; ++n) {
        // Products of two f32 values are exact in float64, so each f32() is one correct rounding; the
        // sum of two f32 values is exact in float64 unless their exponents are ~29 apart (not here).
        const double product = f32(sa[std::size_t(m)] * f32(sb[std::size_t(n)] * f32(acc.at(m, n))));
        const double unfused = reference::round_to_dtype(f32(product + bias[std::size_t(n)]), out.dtype());
        if (unfused != expected[std::size_t(m * acc.cols + n)]) ++differ;
      }
    EXPECT_EQ(differ, c->params.at("elements_where_unfused_differs").get<int>());
    if (c->name.find("fused_differs") != std::string::npos) {
      ++fused_differs_cases;
      EXPECT_GE(differ, 2);
    }
  }
  EXPECT_EQ(fused_differs_cases, 3);
}

class VllmKnownAnswersOnBackend : public ::testing::TestWithParam<std::string> {
 protected:
  // nullptr, with why_not set, where the backend cannot run here (a CPU without AVX2): a skip, not a pass.
  std::unique_ptr<kernels::Backend> backend() {
    auto b = make_backend(GetParam());
    if (!b->available(&why_not)) return nullptr;
    return b;
  }
  std::string why_not;
};

TEST_P(VllmKnownAnswersOnBackend, QuantizePerToken) {
  auto be = backend();
  if (!be) GTEST_SKIP() << GetParam() << " waived: " << why_not;
  for (const KnownCase* c : cases_of("quantize_per_token")) {
    SCOPED_TRACE(c->name);
    const HostTensor x = c->input("x").host();
    const HostTensor q_expected = c->output("q").host();
    const HostTensor scale_expected = c->output("scale").host();
    HostTensor q(DType::i8, x.rows(), x.cols()), scale(DType::f32, 1, x.rows());
    be->quantize_per_token(x.matrix(), nullptr, vllm_dynamic_act_quant(), q.mut_matrix(), scale.f32());
    expect_same_bits(q, q_expected, GetParam() + " q");
    expect_same_bits(scale, scale_expected, GetParam() + " scale");
  }
}

TEST_P(VllmKnownAnswersOnBackend, GemmW8A8) {
  auto be = backend();
  if (!be) GTEST_SKIP() << GetParam() << " waived: " << why_not;
  for (const KnownCase* c : cases_of("gemm_w8a8")) {
    SCOPED_TRACE(c->name);
    const HostTensor a = c->input("a").host(), b = c->input("b").host(), bias = c->input("bias").host();
    const HostTensor sa = c->input("scale_a").host(), sb = c->input("scale_b").host();
    const HostTensor expected = c->output("out").host();
    HostTensor out(expected.dtype(), expected.rows(), expected.cols());
    be->gemm_w8a8(a.matrix(), b.matrix(), sa.f32(), sb.f32(), bias.const_vector(), Epilogue::vllm, out.mut_matrix());
    expect_same_bits(out, expected, GetParam() + " out");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, VllmKnownAnswersOnBackend,
                         ::testing::Values("cpu-scalar", "cpu-avx2", "cuda-emulated", "cuda", "cuda-cublaslt"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string name = i.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace smoothcheck
