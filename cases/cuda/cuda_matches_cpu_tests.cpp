// The CUDA backend's codes equal the CPU backend's, bit for bit. Both evaluate the same per-element
// functions of kernels/numerics.h in the same order of roundings (and the GEMM accumulates exactly in
// int32, numerics.md §8), so every int8 code, every float32 scale, every smoothed weight, every int32
// accumulator and every epilogue output must be the same bytes; a one-ulp difference is a bug (a
// contracted fma, a different reciprocal, a reordered reduction), not noise. The reference comparison
// of the case tables allows tolerances; this file allows none, and so catches what they would absorb.
//
// Inputs have row tails (cols that are not a multiple of any vector width), padded row strides (so
// rows start misaligned) and the distributions that reach ties, saturation and all-zero rows. The
// output buffers are poisoned and guarded (HostTensor), so an element a backend forgot to write, or a
// write into the padding, shows as a difference or a broken guard.
//
// Both GEMM engines are held to the CPU: make_backend("cuda") (the mma.sync kernel) and
// make_backend("cuda-cublaslt"). cuBLASLt's int8 path needs K % 4 == 0 and N % 4 == 0: on other shapes
// the backend must throw kernels::UnsupportedArguments (the documented waiver), and that shape is
// skipped for that engine only. Without a CUDA device every test skips with available()'s reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/backends.h"
#include "harness/differential/case_helpers.h"
#include "harness/differential/generators.h"
#include "harness/differential/host_tensor.h"
#include "kernels/cuda/launch_plan.h"

// The backend held to the CPU, and the GEMM engines: the CUDA backend's two, or, for
// cuda_emulated_matches_cpu_tests (label cpu), the same source executed on the CPU.
#ifndef SMOOTHCHECK_CUDA_UNDER_TEST
#define SMOOTHCHECK_CUDA_UNDER_TEST "cuda"
#define SMOOTHCHECK_CUDA_GEMM_ENGINES "cuda", "cuda-cublaslt"
#endif

namespace smoothcheck {
namespace {

using kernels::Backend;

constexpr DType kFloatTypes[] = {DType::f32, DType::f16, DType::bf16};

struct Shape {
  int64_t rows, cols, pad;
};
// Tails of every vector width (1, 17, 1025, 4099 columns), one row and several, padded strides.
const Shape kActivationShapes[] = {{1, 1, 0}, {3, 17, 5}, {7, 1025, 3}, {5, 4099, 1}, {33, 256, 0}};

// One tensor element's bytes.
const uint8_t* element(const HostTensor& t, int64_t r, int64_t c) {
  return static_cast<const uint8_t*>(t.data()) + (r * t.row_stride() + c) * int64_t(dtype_size(t.dtype()));
}

// Every element of `cuda` has the same bytes as in `cpu` (same dtype and shape), and `cuda`'s padding
// and guard band are intact. Reports the first differing element with both values.
::testing::AssertionResult same_bits(const HostTensor& cpu, const HostTensor& cuda, const std::string& what) {
  if (cpu.dtype() != cuda.dtype() || cpu.rows() != cuda.rows() || cpu.cols() != cuda.cols())
    return ::testing::AssertionFailure() << what << ": tensors of different layout";
  const std::size_t e = dtype_size(cpu.dtype());
  int64_t differing = 0;
  std::string first;
  for (int64_t r = 0; r < cpu.rows(); ++r)
    for (int64_t c = 0; c < cpu.cols(); ++c)
      if (std::memcmp(element(cpu, r, c), element(cuda, r, c), e) != 0) {
        if (differing++ == 0)
          first = "(" + std::to_string(r) + ", " + std::to_string(c) + "): cpu " + std::to_string(cpu.get(r, c)) +
                  ", cuda " + std::to_string(cuda.get(r, c));
      }
  std::string where;
  if (!cuda.guards_intact(&where))
    return ::testing::AssertionFailure() << what << ": the CUDA backend wrote outside the view: " << where;
  if (differing > 0)
    return ::testing::AssertionFailure() << what << ": " << differing << " of " << cpu.numel()
                                         << " elements differ, first at " << first;
  return ::testing::AssertionSuccess();
}

// float32 arrays (scales), bit for bit: -0.0 against 0.0, or two NaN payloads, are differences too.
::testing::AssertionResult same_bits(const std::vector<float>& cpu, const std::vector<float>& cuda,
                                     const std::string& what) {
  for (std::size_t i = 0; i < cpu.size(); ++i)
    if (std::memcmp(&cpu[i], &cuda[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << what << "[" << i << "]: cpu " << cpu[i] << ", cuda " << cuda[i];
  return ::testing::AssertionSuccess();
}

std::vector<float> poisoned_floats(int64_t n) { return std::vector<float>(std::size_t(n), std::nanf("0x5a5a")); }

std::vector<float> as_floats(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

std::string label(const char* dtype_or_kind, const Shape& s, const std::string& extra) {
  return std::string(dtype_or_kind) + " " + shape_name("t", s.rows, "c", s.cols, s.pad) + " " + extra;
}

// The CPU backend (best ISA; isa_agreement_tests holds scalar and AVX2 to each other) and one CUDA
// backend by name.
class CudaMatchesCpu : public ::testing::Test {
 protected:
  void open(const std::string& cuda_name) {
    cpu_ = make_backend("cpu");
    cuda_ = make_backend(cuda_name);
    std::string why;
    if (!cuda_->available(&why)) GTEST_SKIP() << cuda_name << " unavailable: " << why;
  }
  void SetUp() override { open(SMOOTHCHECK_CUDA_UNDER_TEST); }
  std::unique_ptr<Backend> cpu_, cuda_;
};

// ---- activation quantisation ------------------------------------------------------------------------

const Distribution kActDistributions[] = {Distribution::outlier_channels, Distribution::midpoints,
                                          Distribution::near_saturation, Distribution::zero_rows,
                                          Distribution::heavy_tail};

TEST_F(CudaMatchesCpu, QuantizePerTokenEveryOptionWithAndWithoutMigration) {
  uint64_t seed = 100;
  for (DType dt : kFloatTypes)
    for (const Shape& s : kActivationShapes)
      for (Distribution d : kActDistributions) {
        ++seed;
        const HostTensor x = make_tensor(dt, s.rows, s.cols, s.pad, generate_matrix(s.rows, s.cols, d, seed, dt));
        const std::vector<float> migration = as_floats(generate_positive_scales(s.cols, seed + 7, false));
        for (const NamedActOptions& o : all_act_option_combinations())
          for (bool migrate : {false, true}) {
            const std::string what =
                label(to_string(dt), s, std::string(to_string(d)) + " " + o.name + (migrate ? " migration" : ""));
            SCOPED_TRACE(what);
            HostTensor q_cpu = make_output(DType::i8, s.rows, s.cols, s.pad + 1);
            HostTensor q_cuda = make_output(DType::i8, s.rows, s.cols, s.pad + 1);
            std::vector<float> sc_cpu = poisoned_floats(s.rows), sc_cuda = poisoned_floats(s.rows);
            const float* m = migrate ? migration.data() : nullptr;
            cpu_->quantize_per_token(x.matrix(), m, o.options, q_cpu.mut_matrix(), sc_cpu.data());
            cuda_->quantize_per_token(x.matrix(), m, o.options, q_cuda.mut_matrix(), sc_cuda.data());
            ASSERT_TRUE(same_bits(sc_cpu, sc_cuda, "scale"));
            ASSERT_TRUE(same_bits(q_cpu, q_cuda, "q"));
          }
      }
}

TEST_F(CudaMatchesCpu, QuantizePerTensorEveryOptionWithAndWithoutMigration) {
  uint64_t seed = 200;
  for (DType dt : kFloatTypes)
    for (const Shape& s : kActivationShapes)
      for (Distribution d : kActDistributions) {
        ++seed;
        const HostTensor x = make_tensor(dt, s.rows, s.cols, s.pad, generate_matrix(s.rows, s.cols, d, seed, dt));
        const std::vector<float> migration = as_floats(generate_positive_scales(s.cols, seed + 7, false));
        double absmax = 0.0;
        for (double v : x.to_doubles()) absmax = std::max(absmax, std::fabs(v));
        // The calibrated scale, one that saturates half the range, and one with an inexact reciprocal.
        for (float scale : {float(absmax / 127.0), float(absmax / 255.0), 0.0137f}) {
          if (!(scale > 0.0f)) continue;  // an all-zero tensor has no calibrated scale
          for (const NamedActOptions& o : all_act_option_combinations())
            for (bool migrate : {false, true}) {
              const std::string what = label(to_string(dt), s,
                                             std::string(to_string(d)) + " scale " + std::to_string(scale) + " " +
                                                 o.name + (migrate ? " migration" : ""));
              SCOPED_TRACE(what);
              HostTensor q_cpu = make_output(DType::i8, s.rows, s.cols, s.pad);
              HostTensor q_cuda = make_output(DType::i8, s.rows, s.cols, s.pad);
              const float* m = migrate ? migration.data() : nullptr;
              cpu_->quantize_per_tensor(x.matrix(), m, scale, o.options, q_cpu.mut_matrix());
              cuda_->quantize_per_tensor(x.matrix(), m, scale, o.options, q_cuda.mut_matrix());
              ASSERT_TRUE(same_bits(q_cpu, q_cuda, "q"));
            }
        }
      }
}

TEST_F(CudaMatchesCpu, RmsNormQuantizeEveryOption) {
  uint64_t seed = 300;
  for (DType dt : kFloatTypes)
    for (const Shape& s : kActivationShapes)
      for (Distribution d : kActDistributions) {
        ++seed;
        const HostTensor x = make_tensor(dt, s.rows, s.cols, s.pad, generate_matrix(s.rows, s.cols, d, seed, dt));
        // A norm weight around 1 with outliers, in x's dtype (as the API requires).
        const HostTensor w =
            make_tensor(dt, 1, s.cols, 0, generate_matrix(1, s.cols, Distribution::outlier_channels, seed + 3, dt));
        for (float eps : {1e-6f, 1e-5f})
          for (const NamedActOptions& o : all_act_option_combinations()) {
            const std::string what =
                label(to_string(dt), s, std::string(to_string(d)) + " eps " + std::to_string(eps) + " " + o.name);
            SCOPED_TRACE(what);
            HostTensor q_cpu = make_output(DType::i8, s.rows, s.cols, s.pad + 2);
            HostTensor q_cuda = make_output(DType::i8, s.rows, s.cols, s.pad + 2);
            std::vector<float> sc_cpu = poisoned_floats(s.rows), sc_cuda = poisoned_floats(s.rows);
            cpu_->rmsnorm_quantize(x.matrix(), w.const_vector(), eps, o.options, q_cpu.mut_matrix(), sc_cpu.data());
            cuda_->rmsnorm_quantize(x.matrix(), w.const_vector(), eps, o.options, q_cuda.mut_matrix(), sc_cuda.data());
            ASSERT_TRUE(same_bits(sc_cpu, sc_cuda, "scale"));
            ASSERT_TRUE(same_bits(q_cpu, q_cuda, "q"));
          }
      }
}

// ---- weights ----------------------------------------------------------------------------------------

// [out_features, in_features]: one row, tails, more rows than a block, padded strides.
const Shape kWeightShapes[] = {{1, 1, 0}, {7, 17, 3}, {130, 1025, 1}, {9, 4099, 0}, {64, 256, 5}};

TEST_F(CudaMatchesCpu, QuantizeWeightEveryVariant) {
  uint64_t seed = 400;
  for (DType dt : kFloatTypes)
    for (const Shape& s : kWeightShapes)
      for (Distribution d : {Distribution::normal, Distribution::zero_rows, Distribution::midpoints,
                             Distribution::near_saturation, Distribution::heavy_tail}) {
        ++seed;
        const HostTensor w = make_tensor(dt, s.rows, s.cols, s.pad, generate_matrix(s.rows, s.cols, d, seed, dt));
        for (WeightQuant v : {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors}) {
          SCOPED_TRACE(label(to_string(dt), s, std::string(to_string(d)) + " " + to_string(v)));
          HostTensor q_cpu = make_output(DType::i8, s.rows, s.cols, s.pad + 1);
          HostTensor q_cuda = make_output(DType::i8, s.rows, s.cols, s.pad + 1);
          std::vector<float> sc_cpu = poisoned_floats(s.rows), sc_cuda = poisoned_floats(s.rows);
          cpu_->quantize_weight(w.matrix(), v, q_cpu.mut_matrix(), sc_cpu.data());
          cuda_->quantize_weight(w.matrix(), v, q_cuda.mut_matrix(), sc_cuda.data());
          ASSERT_TRUE(same_bits(sc_cpu, sc_cuda, "scale"));
          ASSERT_TRUE(same_bits(q_cpu, q_cuda, "q"));
        }
      }
}

// scale_columns, divide_rows and divide_vector run in place: each backend gets its own copy of the
// same tensor, and the results are compared. Scales are general (not powers of two) so that every
// product and quotient rounds.
TEST_F(CudaMatchesCpu, ApplySmoothingInPlace) {
  uint64_t seed = 500;
  for (DType dt : kFloatTypes)
    for (const Shape& s : kWeightShapes)
      for (Distribution d : {Distribution::normal, Distribution::outlier_channels, Distribution::heavy_tail}) {
        ++seed;
        const std::vector<double> values = generate_matrix(s.rows, s.cols, d, seed, dt);
        const std::vector<float> col_s = as_floats(generate_positive_scales(s.cols, seed + 1, false));
        const std::vector<float> row_s = as_floats(generate_positive_scales(s.rows, seed + 2, false));
        {
          SCOPED_TRACE(label(to_string(dt), s, std::string(to_string(d)) + " scale_columns"));
          HostTensor w_cpu = make_tensor(dt, s.rows, s.cols, s.pad, values);
          HostTensor w_cuda = make_tensor(dt, s.rows, s.cols, s.pad, values);
          cpu_->scale_columns(w_cpu.mut_matrix(), col_s.data());
          cuda_->scale_columns(w_cuda.mut_matrix(), col_s.data());
          ASSERT_TRUE(same_bits(w_cpu, w_cuda, "w"));
        }
        {
          SCOPED_TRACE(label(to_string(dt), s, std::string(to_string(d)) + " divide_rows"));
          HostTensor w_cpu = make_tensor(dt, s.rows, s.cols, s.pad, values);
          HostTensor w_cuda = make_tensor(dt, s.rows, s.cols, s.pad, values);
          cpu_->divide_rows(w_cpu.mut_matrix(), row_s.data());
          cuda_->divide_rows(w_cuda.mut_matrix(), row_s.data());
          ASSERT_TRUE(same_bits(w_cpu, w_cuda, "w"));
        }
        {
          // The norm weight or a bias: one row of the same values.
          SCOPED_TRACE(label(to_string(dt), s, std::string(to_string(d)) + " divide_vector"));
          const std::vector<double> row(values.begin(), values.begin() + s.cols);
          HostTensor v_cpu = make_tensor(dt, 1, s.cols, 0, row);
          HostTensor v_cuda = make_tensor(dt, 1, s.cols, 0, row);
          cpu_->divide_vector(v_cpu.mut_vector(), col_s.data());
          cuda_->divide_vector(v_cuda.mut_vector(), col_s.data());
          ASSERT_TRUE(same_bits(v_cpu, v_cuda, "v"));
        }
      }
}

// ---- GEMM, both engines -------------------------------------------------------------------------------

struct GemmShape {
  int64_t m, n, k, pad;
};
// M, N past one 128 tile and not multiples of it; K past one 32 step with a tail; N and K both
// multiples of 4 (cuBLASLt runs) and not (cuBLASLt must refuse with UnsupportedArguments).
const GemmShape kGemmShapes[] = {{1, 1, 1, 0},       {1, 8, 32, 0},     {7, 17, 33, 3},     {16, 132, 36, 4},
                                 {130, 132, 100, 0}, {3, 260, 4100, 1}, {129, 12, 1000, 2}, {200, 130, 64, 0}};

// int8 codes over the whole range, extremes included (-128 only in a, so both signs of saturation
// products appear), element (0, 0) non-zero.
HostTensor random_codes(int64_t rows, int64_t cols, int64_t pad, uint64_t seed, int lo) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> code(lo, 127);
  HostTensor t(DType::i8, rows, cols, cols + pad);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int v = code(rng);
      if (rng() % 16 == 0) v = (rng() % 2) ? 127 : lo;  // extremes more often than uniform would give
      if (r == 0 && c == 0 && v == 0) v = 1;
      t.set(r, c, v);
    }
  return t;
}

class CudaGemmMatchesCpu : public CudaMatchesCpu, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { open(GetParam()); }

  // Whether this engine refuses the shape; when it does, the call must have thrown UnsupportedArguments.
  bool refused(const GemmShape& g) const {
    return GetParam() == "cuda-cublaslt" && !kernels::cuda_plan::cublaslt_int8_constraint(g.m, g.n, g.k).empty();
  }
  // Runs the CUDA call: true when it ran; false (recording the documented waiver) when this engine
  // refuses the shape; a refusal of another kind, or a refusal of a shape it should take, fails.
  bool run_cuda(const GemmShape& g, const std::function<void()>& call, std::set<std::string>* waived) {
    try {
      call();
    } catch (const kernels::UnsupportedArguments& e) {
      if (!refused(g)) {
        ADD_FAILURE() << GetParam() << " refused a shape it supports: " << e.what();
        return false;
      }
      waived->insert(std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k) + ": " + e.what());
      return false;
    } catch (const kernels::KernelError& e) {
      ADD_FAILURE() << GetParam() << " threw KernelError, not UnsupportedArguments"
                    << (refused(g) ? " (the shape breaks cuBLASLt's documented int8 constraint, which the "
                                     "harness waives only as UnsupportedArguments)"
                                   : "")
                    << ": " << e.what();
      return false;
    }
    if (refused(g)) ADD_FAILURE() << GetParam() << " ran a shape cuBLASLt's int8 GEMM does not support";
    return true;
  }
  static void note_waivers(const std::set<std::string>& waived) {
    if (waived.empty()) return;
    std::string all;
    for (const auto& w : waived) all += (all.empty() ? "" : "; ") + w;
    ::testing::Test::RecordProperty("waived_shapes", all);
    std::printf("waived (documented cuBLASLt int8 limit): %s\n", all.c_str());
  }
};

TEST_P(CudaGemmMatchesCpu, S8S8S32Accumulators) {
  std::set<std::string> waived;  // one entry per refused shape
  uint64_t seed = 600;
  for (const GemmShape& g : kGemmShapes) {
    ++seed;
    SCOPED_TRACE(GetParam() + " m" + std::to_string(g.m) + " n" + std::to_string(g.n) + " k" + std::to_string(g.k) +
                 " pad" + std::to_string(g.pad));
    const HostTensor a = random_codes(g.m, g.k, g.pad, seed, -128);
    const HostTensor b = random_codes(g.n, g.k, g.pad + 1, seed + 1, -127);
    HostTensor acc_cpu = make_output(DType::i32, g.m, g.n, g.pad);
    HostTensor acc_cuda = make_output(DType::i32, g.m, g.n, g.pad);
    cpu_->gemm_s8s8s32(a.matrix(), b.matrix(), acc_cpu.mut_matrix());
    if (!run_cuda(
            g, [&] { cuda_->gemm_s8s8s32(a.matrix(), b.matrix(), acc_cuda.mut_matrix()); }, &waived))
      continue;
    ASSERT_TRUE(same_bits(acc_cpu, acc_cuda, "acc"));
  }
  note_waivers(waived);
}

TEST_P(CudaGemmMatchesCpu, W8A8EveryEpilogueOutputAndBias) {
  std::set<std::string> waived;  // one entry per refused shape
  uint64_t seed = 700;
  for (const GemmShape& g : kGemmShapes) {
    ++seed;
    const HostTensor a = random_codes(g.m, g.k, g.pad, seed, -128);
    const HostTensor b = random_codes(g.n, g.k, g.pad, seed + 1, -127);
    // Per-token and per-channel scales of realistic size (absmax / 127 of unit-scale data).
    std::vector<float> sa = as_floats(generate_positive_scales(g.m, seed + 2, false));
    std::vector<float> sb = as_floats(generate_positive_scales(g.n, seed + 3, false));
    for (float& v : sa) v /= 127.0f;
    for (float& v : sb) v /= 127.0f;
    for (DType out : kFloatTypes)
      for (Epilogue ep : {Epilogue::vllm, Epilogue::lmdeploy})
        for (bool with_bias : {false, true}) {
          SCOPED_TRACE(GetParam() + " m" + std::to_string(g.m) + " n" + std::to_string(g.n) + " k" +
                       std::to_string(g.k) + " " + to_string(out) + " " + to_string(ep) + (with_bias ? " bias" : ""));
          const HostTensor bias =
              make_tensor(out, 1, g.n, 0, generate_matrix(1, g.n, Distribution::normal, seed + 4, out));
          const kernels::ConstVector bias_view =
              with_bias ? bias.const_vector() : kernels::ConstVector{nullptr, out, 0};
          HostTensor y_cpu = make_output(out, g.m, g.n, g.pad + 1);
          HostTensor y_cuda = make_output(out, g.m, g.n, g.pad + 1);
          cpu_->gemm_w8a8(a.matrix(), b.matrix(), sa.data(), sb.data(), bias_view, ep, y_cpu.mut_matrix());
          const bool ran = run_cuda(
              g,
              [&] {
                cuda_->gemm_w8a8(a.matrix(), b.matrix(), sa.data(), sb.data(), bias_view, ep, y_cuda.mut_matrix());
              },
              &waived);
          if (!ran) continue;
          ASSERT_TRUE(same_bits(y_cpu, y_cuda, "out"));
        }
  }
  note_waivers(waived);
}

INSTANTIATE_TEST_SUITE_P(Engines, CudaGemmMatchesCpu, ::testing::Values(SMOOTHCHECK_CUDA_GEMM_ENGINES),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           if (p.param == "cuda") return std::string("mma");
                           return p.param == "cuda-cublaslt" ? std::string("cublaslt") : std::string("emulated_mma");
                         });

}  // namespace
}  // namespace smoothcheck
