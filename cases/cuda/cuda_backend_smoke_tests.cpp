// A self-contained check of the CUDA backend against scalar loops over kernels/numerics.h (the same
// per-element functions the CPU backend uses), independent of the harness: bit-exact codes, scales
// and GEMM results on padded, misaligned views, and untouched row padding. The harness's case tables
// compare the backend with the reference; this file exists so that a GPU run (scripts/gpu_run.sh) and
// compute-sanitizer have a CUDA executable that needs nothing else. Skips with the reason without a
// device.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <ostream>
#include <random>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {

// gtest prints a parameter with PrintTo (found by ADL); without it, ctest's test names carry raw bytes.
void PrintTo(CudaGemmEngine e, std::ostream* os) { *os << (e == CudaGemmEngine::mma ? "mma" : "cublaslt"); }

namespace {

namespace nx = numerics;
constexpr uint8_t kGuard = 0xA5;

// A host matrix with padded rows and a base address offset by `shift` elements from 16 bytes, its
// padding filled with a guard byte.
struct HostMatrix {
  DType dtype;
  int64_t rows, cols, stride;
  int shift;
  std::vector<uint8_t> bytes;
  HostMatrix(DType t, int64_t r, int64_t c, int64_t pad, int sh)
      : dtype(t), rows(r), cols(c), stride(c + pad), shift(sh),
        bytes(std::size_t(16 + (r * (c + pad) + sh) * int64_t(dtype_size(t))), kGuard) {}
  uint8_t* base() const {
    auto p = reinterpret_cast<std::uintptr_t>(bytes.data());
    return reinterpret_cast<uint8_t*>((p + 15) / 16 * 16) + shift * dtype_size(dtype);
  }
  void* at(int64_t r, int64_t c) const { return base() + (r * stride + c) * int64_t(dtype_size(dtype)); }
  ConstMatrix view() const { return ConstMatrix{base(), dtype, rows, cols, stride}; }
  MutMatrix mut() const { return MutMatrix{base(), dtype, rows, cols, stride}; }
  float get(int64_t r, int64_t c) const {
    uint16_t h;
    switch (dtype) {
      case DType::f32: { float f; std::memcpy(&f, at(r, c), 4); return f; }
      case DType::f16: std::memcpy(&h, at(r, c), 2); return nx::f16_to_float(h);
      case DType::bf16: std::memcpy(&h, at(r, c), 2); return nx::bf16_to_float(h);
      case DType::i8: return float(*static_cast<int8_t*>(at(r, c)));
      default: { int32_t i; std::memcpy(&i, at(r, c), 4); return float(i); }
    }
  }
  void set(int64_t r, int64_t c, float v) {
    uint16_t h;
    switch (dtype) {
      case DType::f32: std::memcpy(at(r, c), &v, 4); break;
      case DType::f16: h = nx::float_to_f16(v); std::memcpy(at(r, c), &h, 2); break;
      case DType::bf16: h = nx::float_to_bf16(v); std::memcpy(at(r, c), &h, 2); break;
      case DType::i8: *static_cast<int8_t*>(at(r, c)) = int8_t(v); break;
      default: { int32_t i = int32_t(v); std::memcpy(at(r, c), &i, 4); }
    }
  }
  bool padding_untouched() const {
    const std::size_t e = dtype_size(dtype);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = cols; c < stride; ++c)
        for (std::size_t b = 0; b < e; ++b)
          if (static_cast<uint8_t*>(at(r, c))[b] != kGuard) return false;
    return true;
  }
};

class CudaSmoke : public ::testing::TestWithParam<CudaGemmEngine> {
 protected:
  void SetUp() override {
    backend_ = make_cuda_backend(CudaBackendOptions{0, GetParam()});
    std::string why;
    if (!backend_->available(&why)) GTEST_SKIP() << "CUDA backend unavailable: " << why;
  }
  std::unique_ptr<Backend> backend_;
  std::mt19937 rng_{12345};
  float normal() { return std::normal_distribution<float>(0.0f, 2.0f)(rng_); }
};

// Without a device this is a skip too (after checking that the backend says why): were it a pass,
// an executable whose every CUDA check skipped would not be all-skipped, and one ctest test per
// executable (SMOOTHCHECK_TEST_PER_EXECUTABLE, cases/test_main.cpp) would report it Passed.
TEST(CudaAvailability, SaysWhyWhenUnavailable) {
  std::string why;
  const bool ok = make_cuda_backend()->available(&why);
  EXPECT_EQ(ok, why.empty()) << why;
  if (!ok && !why.empty()) GTEST_SKIP() << "CUDA backend unavailable: " << why;
}

TEST_P(CudaSmoke, QuantizePerTokenMatchesNumerics) {
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (int64_t cols : {1, 17, 1025, 4099})
      for (bool migrate : {false, true}) {
        SCOPED_TRACE(std::string(to_string(t)) + " cols " + std::to_string(cols) + (migrate ? " migration" : ""));
        const int64_t rows = 7;
        HostMatrix x(t, rows, cols, 3, 1), q(DType::i8, rows, cols, 5, 3);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) x.set(r, c, r == 2 ? 0.0f : normal());
        std::vector<float> s(static_cast<std::size_t>(cols));
        for (auto& v : s) v = 0.25f + std::fabs(normal());
        ActQuantOptions o;
        std::vector<float> scale(static_cast<std::size_t>(rows), -1.0f);
        backend_->quantize_per_token(x.view(), migrate ? s.data() : nullptr, o, q.mut(), scale.data());
        for (int64_t r = 0; r < rows; ++r) {
          float absmax = 0.0f;
          std::vector<float> v(static_cast<std::size_t>(cols));
          for (int64_t c = 0; c < cols; ++c) {
            v[c] = migrate ? nx::mul_rn(x.get(r, c), nx::migration_reciprocal(s[c])) : x.get(r, c);
            absmax = std::fmax(absmax, std::fabs(v[c]));
          }
          const nx::RowScale rs = nx::row_scale_from_absmax(absmax, o);
          ASSERT_EQ(nx::float_bits(scale[r]), nx::float_bits(rs.scale)) << "row " << r;
          for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(q.get(r, c), float(nx::quantize_value(v[c], rs, o))) << r << "," << c;
        }
        EXPECT_TRUE(q.padding_untouched());
      }
}

TEST_P(CudaSmoke, RmsNormQuantizeMatchesNumerics) {
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (int64_t cols : {1, 33, 4096, 5137}) {
      SCOPED_TRACE(std::string(to_string(t)) + " cols " + std::to_string(cols));
      const int64_t rows = 9;
      HostMatrix x(t, rows, cols, 1, 0), q(DType::i8, rows, cols, 2, 0), w(t, 1, cols, 0, 0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) x.set(r, c, normal());
      for (int64_t c = 0; c < cols; ++c) w.set(0, c, 1.0f + 0.1f * normal());
      ActQuantOptions o;
      std::vector<float> scale(static_cast<std::size_t>(rows));
      const float eps = 1e-6f;
      backend_->rmsnorm_quantize(x.view(), ConstVector{w.base(), t, cols}, eps, o, q.mut(), scale.data());
      for (int64_t r = 0; r < rows; ++r) {
        float lanes[nx::kRmsLanes] = {};
        for (int64_t c = 0; c < cols; ++c) lanes[c % nx::kRmsLanes] = std::fmaf(x.get(r, c), x.get(r, c), lanes[c % nx::kRmsLanes]);
        const float inv = nx::rms_inverse(nx::reduce_rms_lanes(lanes), cols, eps);
        std::vector<float> y(static_cast<std::size_t>(cols));
        float absmax = 0.0f;
        HostMatrix one(t, 1, 1, 0, 0);
        for (int64_t c = 0; c < cols; ++c) {
          one.set(0, 0, nx::rms_normalized(x.get(r, c), w.get(0, c), inv));
          y[c] = one.get(0, 0);
          absmax = std::fmax(absmax, std::fabs(y[c]));
        }
        const nx::RowScale rs = nx::row_scale_from_absmax(absmax, o);
        ASSERT_EQ(nx::float_bits(scale[r]), nx::float_bits(rs.scale)) << "row " << r;
        for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(q.get(r, c), float(nx::quantize_value(y[c], rs, o))) << r << "," << c;
      }
      EXPECT_TRUE(q.padding_untouched());
    }
}

TEST_P(CudaSmoke, GemmMatchesIntegerProductAndEpilogues) {
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 4, 4}, {7, 36, 68}, {130, 260, 1024}, {5, 17, 33}}) {
    SCOPED_TRACE("M " + std::to_string(m) + " N " + std::to_string(n) + " K " + std::to_string(k));
    HostMatrix a(DType::i8, m, k, 3, 1), b(DType::i8, n, k, 0, 0), acc(DType::i32, m, n, 2, 0);
    std::uniform_int_distribution<int> code(-128, 127);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c) a.set(r, c, float(code(rng_)));
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) b.set(r, c, float(code(rng_)));
    if (GetParam() == CudaGemmEngine::cublaslt && (k % 4 != 0 || n % 4 != 0)) {
      EXPECT_THROW(backend_->gemm_s8s8s32(a.view(), b.view(), acc.mut()), KernelError);
      continue;
    }
    backend_->gemm_s8s8s32(a.view(), b.view(), acc.mut());
    std::vector<int32_t> want(static_cast<std::size_t>(m * n), 0);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        int32_t s = 0;
        for (int64_t kk = 0; kk < k; ++kk) s += int32_t(a.get(r, kk)) * int32_t(b.get(c, kk));
        want[std::size_t(r * n + c)] = s;
        ASSERT_EQ(acc.get(r, c), float(s)) << r << "," << c;
      }
    EXPECT_TRUE(acc.padding_untouched());

    std::vector<float> sa(static_cast<std::size_t>(m)), sb(static_cast<std::size_t>(n));
    for (auto& v : sa) v = 1e-3f * (1.0f + std::fabs(normal()));
    for (auto& v : sb) v = 1e-3f * (1.0f + std::fabs(normal()));
    for (DType t : {DType::f32, DType::f16, DType::bf16})
      for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy}) {
        HostMatrix out(t, m, n, 1, 0), bias(t, 1, n, 0, 0);
        for (int64_t c = 0; c < n; ++c) bias.set(0, c, normal());
        backend_->gemm_w8a8(a.view(), b.view(), sa.data(), sb.data(), ConstVector{bias.base(), t, n}, e, out.mut());
        HostMatrix one(t, 1, 1, 0, 0);
        for (int64_t r = 0; r < m; ++r)
          for (int64_t c = 0; c < n; ++c) {
            const int32_t s = want[std::size_t(r * n + c)];
            if (e == Epilogue::vllm) {
              one.set(0, 0, nx::epilogue_vllm(s, sa[r], sb[c], bias.get(0, c)));
            } else {
              one.set(0, 0, nx::epilogue_lmdeploy(s, sa[r], sb[c]));
              one.set(0, 0, one.get(0, 0) + bias.get(0, c));
            }
            ASSERT_EQ(nx::float_bits(out.get(r, c)), nx::float_bits(one.get(0, 0)))
                << to_string(t) << " " << to_string(e) << " at " << r << "," << c;
          }
        EXPECT_TRUE(out.padding_untouched());
      }
  }
}

TEST_P(CudaSmoke, QuantizeWeightMatchesNumerics) {
  for (WeightQuant v : {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors}) {
    HostMatrix w(DType::f16, 11, 257, 7, 3), q(DType::i8, 11, 257, 1, 0);
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c) w.set(r, c, r == 4 ? 0.0f : 0.05f * normal());
    std::vector<float> scale(11);
    backend_->quantize_weight(w.view(), v, q.mut(), scale.data());
    for (int64_t r = 0; r < w.rows; ++r) {
      float absmax = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) absmax = std::fmax(absmax, std::fabs(w.get(r, c)));
      const DType arithmetic = nx::weight_arithmetic(v, w.dtype);
      const float sc = nx::weight_row_scale(absmax, v, arithmetic);
      ASSERT_EQ(nx::float_bits(scale[r]), nx::float_bits(sc));
      for (int64_t c = 0; c < w.cols; ++c) ASSERT_EQ(q.get(r, c), float(nx::weight_code(w.get(r, c), sc, v, arithmetic)));
    }
    EXPECT_TRUE(q.padding_untouched());
  }
}

TEST_P(CudaSmoke, SmoothingRoundTripTouchesOnlyElements) {
  HostMatrix w(DType::bf16, 13, 4100, 5, 1);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) w.set(r, c, normal());
  const HostMatrix before = w;
  std::vector<float> s(4100);
  for (auto& v : s) v = 0.5f + std::fabs(normal());
  backend_->scale_columns(w.mut(), s.data());
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      HostMatrix one(DType::bf16, 1, 1, 0, 0);
      one.set(0, 0, nx::mul_rn(before.get(r, c), s[c]));
      ASSERT_EQ(w.get(r, c), one.get(0, 0));
    }
  EXPECT_TRUE(w.padding_untouched());
}

INSTANTIATE_TEST_SUITE_P(Engines, CudaSmoke, ::testing::Values(CudaGemmEngine::mma, CudaGemmEngine::cublaslt),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace smoothcheck::kernels
