// The CPU backend's two ISA paths agree bit for bit on every kernel whose per-element result
// numerics.h defines (statistics sums: up to float reassociation), on awkward shapes with padded
// rows whose padding must stay untouched; and the GEMM's accumulators equal an int64 triple loop.
// Cases are rows of small tables (design.md); one runner per kernel family compares.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

constexpr uint8_t kPoison = 0xA5;
constexpr std::size_t kGuardBytes = 64;

// A row-major buffer with padded rows and a guard band after the last row, all poisoned first.
struct Buffer {
  DType dtype = DType::f32;
  int64_t rows = 0, cols = 0, stride = 0;
  std::vector<uint8_t> bytes;

  Buffer(DType t, int64_t r, int64_t c, int64_t pad) : dtype(t), rows(r), cols(c), stride(c + pad) {
    bytes.assign(std::size_t(r * stride) * dtype_size(t) + kGuardBytes, kPoison);
  }
  void* at(int64_t r, int64_t c) { return bytes.data() + std::size_t(r * stride + c) * dtype_size(dtype); }
  ConstMatrix view() const { return ConstMatrix{bytes.data(), dtype, rows, cols, stride}; }
  MutMatrix mut() { return MutMatrix{bytes.data(), dtype, rows, cols, stride}; }
  // Every byte outside the rows' first `cols` elements still holds the poison.
  bool guards_intact() const {
    const std::size_t es = dtype_size(dtype);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const int64_t e = int64_t(i / es);
      const bool inside = e < rows * stride && e % stride < cols;
      if (!inside && bytes[i] != kPoison) return false;
    }
    return true;
  }
};

void store_value(Buffer& b, int64_t r, int64_t c, float v) {
  switch (b.dtype) {
    case DType::f16: *static_cast<uint16_t*>(b.at(r, c)) = numerics::float_to_f16(v); break;
    case DType::bf16: *static_cast<uint16_t*>(b.at(r, c)) = numerics::float_to_bf16(v); break;
    case DType::f32: *static_cast<float*>(b.at(r, c)) = v; break;
    case DType::i8: *static_cast<int8_t*>(b.at(r, c)) = int8_t(v); break;
    default: FAIL() << "unsupported test dtype";
  }
}

// Activation-like values: mostly N(0, 1), some outlier channels (x40), some exact zeros; row 1 is
// all zero when there are at least three rows (the zero-row path).
void fill_activations(Buffer& b, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 99);
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t c = 0; c < b.cols; ++c) {
      float v = normal(rng) * (c % 13 == 5 ? 40.0f : 1.0f);
      if (pick(rng) < 4 || (b.rows >= 3 && r == 1)) v = 0.0f;
      store_value(b, r, c, v);
    }
}

void fill_int8(Buffer& b, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-128, 127);
  for (int64_t r = 0; r < b.rows; ++r)
    for (int64_t c = 0; c < b.cols; ++c) *static_cast<int8_t*>(b.at(r, c)) = int8_t(dist(rng));
}

std::vector<float> positive_vector(int64_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Shape {
  int64_t rows, cols, pad;
  std::string name() const {
    return std::to_string(rows) + "x" + std::to_string(cols) + (pad ? "+pad" + std::to_string(pad) : "");
  }
};

std::vector<Shape> awkward_shapes() {
  std::vector<Shape> shapes;
  int i = 0;
  for (int64_t cols : {1, 7, 17, 31, 33, 1025, 4099}) {
    const int64_t rows = cols > 1000 ? 3 : 9;
    shapes.push_back({rows, cols, 0});
    shapes.push_back({rows + 2, cols, (i++ % 2) ? 5 : 3});
  }
  return shapes;
}

constexpr DType kFloatDtypes[] = {DType::f32, DType::f16, DType::bf16};

class IsaAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_supports_avx2()) GTEST_SKIP() << "this CPU lacks AVX2/FMA/F16C: there is no second ISA path to compare";
    scalar_ = make_cpu_backend({CpuIsa::scalar, 1});
    avx2_ = make_cpu_backend({CpuIsa::avx2, 2});  // also a different thread count
  }
  std::unique_ptr<Backend> scalar_, avx2_;
};

TEST_F(IsaAgreement, ChannelStats) {
  std::mt19937 rng(1);
  for (DType t : kFloatDtypes)
    for (const Shape& s : awkward_shapes()) {
      SCOPED_TRACE(std::string("channel_stats ") + to_string(t) + " " + s.name());
      Buffer x(t, s.rows, s.cols, s.pad);
      fill_activations(x, rng);
      std::vector<float> r[2][5];
      Backend* backends[2] = {scalar_.get(), avx2_.get()};
      for (int b = 0; b < 2; ++b) {
        for (auto& v : r[b]) v.assign(std::size_t(s.cols), NAN);
        backends[b]->channel_stats(x.view(), {r[b][0].data(), r[b][1].data(), r[b][2].data(), r[b][3].data(), r[b][4].data()});
      }
      for (int k = 0; k < 3; ++k) EXPECT_TRUE(same_bits(r[0][k], r[1][k])) << "absmax/min/max #" << k;
      for (int k = 3; k < 5; ++k)
        for (int64_t j = 0; j < s.cols; ++j)  // sums: reassociation allowed
          EXPECT_NEAR(r[0][k][std::size_t(j)], r[1][k][std::size_t(j)], 1e-5f * (1.0f + r[0][4][std::size_t(j)]));
    }
}

TEST_F(IsaAgreement, WeightStatAndSmoothScale) {
  std::mt19937 rng(2);
  for (DType t : kFloatDtypes)
    for (const Shape& s : awkward_shapes())
      for (Recipe recipe : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor}) {
        std::vector<int64_t> groups = {0};
        if (recipe == Recipe::lmdeploy)
          for (int64_t g = 2; g < s.cols; ++g)
            if (s.cols % g == 0) {
              groups.push_back(g);
              break;
            }
        for (int64_t group : groups) {
          SCOPED_TRACE(std::string("weight_stat ") + to_string(recipe) + " g" + std::to_string(group) + " " +
                       to_string(t) + " " + s.name());
          Buffer fc0(t, s.rows, s.cols, s.pad), fc1(t, 2, s.cols, 0);
          fill_activations(fc0, rng);
          fill_activations(fc1, rng);
          const ConstMatrix fcs[2] = {fc0.view(), fc1.view()};
          std::vector<float> w0(std::size_t(s.cols)), w1(std::size_t(s.cols));
          scalar_->weight_stat(fcs, 2, recipe, group, w0.data());
          avx2_->weight_stat(fcs, 2, recipe, group, w1.data());
          ASSERT_TRUE(same_bits(w0, w1));
          // In the weights' own dtype too (smoothing in the model's dtype): each quotient rounded to it.
          if (t != DType::f32) {
            std::vector<float> in_dtype0(std::size_t(s.cols)), in_dtype1(std::size_t(s.cols));
            scalar_->weight_stat(fcs, 2, recipe, group, in_dtype0.data(), t);
            avx2_->weight_stat(fcs, 2, recipe, group, in_dtype1.data(), t);
            ASSERT_TRUE(same_bits(in_dtype0, in_dtype1)) << "arithmetic " << to_string(t);
          }

          std::vector<float> a = positive_vector(s.cols, rng, 0.0f, 30.0f), norm(std::size_t(s.cols), 1.0f);
          if (s.cols > 3) norm[2] = 0.0f;
          std::vector<float> s0(std::size_t(s.cols)), s1(std::size_t(s.cols));
          scalar_->smooth_scale(a.data(), w0.data(), norm.data(), s.cols, recipe, 0.85f, s0.data());
          avx2_->smooth_scale(a.data(), w0.data(), norm.data(), s.cols, recipe, 0.85f, s1.data());
          EXPECT_TRUE(same_bits(s0, s1));
        }
      }
}

TEST_F(IsaAgreement, ApplySmoothing) {
  std::mt19937 rng(3);
  for (DType t : kFloatDtypes)
    for (const Shape& s : awkward_shapes()) {
      SCOPED_TRACE(std::string("apply_smoothing ") + to_string(t) + " " + s.name());
      Buffer w(t, s.rows, s.cols, s.pad);
      fill_activations(w, rng);
      std::vector<float> sc = positive_vector(s.cols, rng, 0.05f, 20.0f), sr = positive_vector(s.rows, rng, 0.05f, 20.0f);
      Buffer w0 = w, w1 = w;
      scalar_->scale_columns(w0.mut(), sc.data());
      avx2_->scale_columns(w1.mut(), sc.data());
      scalar_->divide_rows(w0.mut(), sr.data());
      avx2_->divide_rows(w1.mut(), sr.data());
      EXPECT_TRUE(w0.guards_intact());
      EXPECT_TRUE(w0.bytes == w1.bytes);
      Buffer v0(t, 1, s.cols, 0);
      fill_activations(v0, rng);
      Buffer v1 = v0;
      scalar_->divide_vector({v0.bytes.data(), t, s.cols}, sc.data());
      avx2_->divide_vector({v1.bytes.data(), t, s.cols}, sc.data());
      EXPECT_TRUE(v0.bytes == v1.bytes);
    }
}

TEST_F(IsaAgreement, QuantizeWeight) {
  std::mt19937 rng(4);
  for (DType t : kFloatDtypes)
    for (const Shape& s : awkward_shapes())
      for (WeightQuant v : {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors}) {
        SCOPED_TRACE(std::string("quantize_weight ") + to_string(v) + " " + to_string(t) + " " + s.name());
        Buffer w(t, s.rows, s.cols, s.pad);
        fill_activations(w, rng);
        Buffer q0(DType::i8, s.rows, s.cols, s.pad), q1 = q0;
        std::vector<float> sc0(std::size_t(s.rows)), sc1(std::size_t(s.rows));
        scalar_->quantize_weight(w.view(), v, q0.mut(), sc0.data());
        avx2_->quantize_weight(w.view(), v, q1.mut(), sc1.data());
        EXPECT_TRUE(q0.guards_intact());
        EXPECT_TRUE(q0.bytes == q1.bytes);
        EXPECT_TRUE(same_bits(sc0, sc1));
      }
}

std::vector<ActQuantOptions> option_grid() {
  std::vector<ActQuantOptions> grid;
  for (Rounding r : {Rounding::half_even, Rounding::half_away})
    for (ScaleMath m : {ScaleMath::reciprocal_multiply, ScaleMath::divide})
      for (Clamp c : {Clamp::saturate, Clamp::none})
        for (ZeroRow z : {ZeroRow::zero_scale, ZeroRow::floor}) grid.push_back({r, m, c, z, z == ZeroRow::floor ? 1e-6f : 0.0f});
  return grid;
}

std::string name(const ActQuantOptions& o) {
  return std::string(to_string(o.rounding)) + "/" + to_string(o.math) + "/" + to_string(o.clamp) + "/" + to_string(o.zero_row);
}

TEST_F(IsaAgreement, QuantizePerTokenAndPerTensor) {
  std::mt19937 rng(5);
  for (DType t : kFloatDtypes)
    for (const Shape& s : awkward_shapes())
      for (const ActQuantOptions& o : option_grid())
        for (bool migrate : {false, true}) {
          SCOPED_TRACE(std::string("quantize ") + name(o) + (migrate ? " migration " : " ") + to_string(t) + " " + s.name());
          Buffer x(t, s.rows, s.cols, s.pad);
          fill_activations(x, rng);
          std::vector<float> mig = positive_vector(s.cols, rng, 0.1f, 10.0f);
          const float* ms = migrate ? mig.data() : nullptr;
          Buffer q0(DType::i8, s.rows, s.cols, s.pad), q1 = q0;
          std::vector<float> sc0(std::size_t(s.rows)), sc1(std::size_t(s.rows));
          scalar_->quantize_per_token(x.view(), ms, o, q0.mut(), sc0.data());
          avx2_->quantize_per_token(x.view(), ms, o, q1.mut(), sc1.data());
          EXPECT_TRUE(q0.guards_intact());
          EXPECT_TRUE(q0.bytes == q1.bytes) << "per-token codes";
          EXPECT_TRUE(same_bits(sc0, sc1)) << "per-token scales";
          // A static scale small enough to push values past ±127 (saturate vs wrap), and a zero scale.
          for (float scale : {0.01f, 0.0f}) {
            Buffer p0(DType::i8, s.rows, s.cols, s.pad), p1 = p0;
            scalar_->quantize_per_tensor(x.view(), ms, scale, o, p0.mut());
            avx2_->quantize_per_tensor(x.view(), ms, scale, o, p1.mut());
            EXPECT_TRUE(p0.guards_intact());
            EXPECT_TRUE(p0.bytes == p1.bytes) << "per-tensor codes, scale " << scale;
          }
        }
}

TEST_F(IsaAgreement, RmsnormQuantize) {
  std::mt19937 rng(6);
  const std::vector<ActQuantOptions> grid = option_grid();
  for (DType t : kFloatDtypes)
    for (DType wt : {t, DType::f32})
      for (const Shape& s : awkward_shapes())
        for (std::size_t k = 0; k < grid.size(); k += 3) {  // a spread of the options, to stay fast
          const ActQuantOptions& o = grid[k];
          SCOPED_TRACE(std::string("rmsnorm_quantize ") + name(o) + " " + to_string(t) + " w" + to_string(wt) + " " + s.name());
          Buffer x(t, s.rows, s.cols, s.pad), w(wt, 1, s.cols, 0);
          fill_activations(x, rng);
          fill_activations(w, rng);
          Buffer q0(DType::i8, s.rows, s.cols, s.pad), q1 = q0;
          std::vector<float> sc0(std::size_t(s.rows)), sc1(std::size_t(s.rows));
          const ConstVector nw{w.bytes.data(), wt, s.cols};
          scalar_->rmsnorm_quantize(x.view(), nw, 1e-6f, o, q0.mut(), sc0.data());
          avx2_->rmsnorm_quantize(x.view(), nw, 1e-6f, o, q1.mut(), sc1.data());
          EXPECT_TRUE(q0.guards_intact());
          EXPECT_TRUE(q0.bytes == q1.bytes);
          EXPECT_TRUE(same_bits(sc0, sc1));
        }
}

// NaN and infinite normalised values, in whole 32-element groups too: the AVX2 path rounds those groups
// to bf16 without round_trip's NaN rule (rmsnorm_quantize_avx2.cpp says why the codes and scales cannot
// tell), and they must still equal the scalar path's. A NaN weight makes one column NaN in every row; an
// infinite weight makes inf in every row but NaN (inf * 0) where x is 0; a NaN in x makes its whole row
// NaN (the sum of squares is NaN). An f32 NaN with all mantissa bits set (0x7fffffff, 0xffffffff) is the
// NaN that the unchecked bf16 rounding turns into a signed zero.
TEST_F(IsaAgreement, RmsnormQuantizeWithNanAndInfinity) {
  std::mt19937 rng(61);
  const std::vector<ActQuantOptions> grid = option_grid();
  auto nan_bits = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  for (DType t : kFloatDtypes)
    for (DType wt : {t, DType::f32})
      for (int64_t cols : {33, 64, 100, 1025})
        for (int special = 0; special < 5; ++special)
          for (std::size_t k = 0; k < grid.size(); k += 5) {
            const ActQuantOptions& o = grid[k];
            SCOPED_TRACE(std::string("rmsnorm_quantize special ") + std::to_string(special) + " " + name(o) + " " +
                         to_string(t) + " w" + to_string(wt) + " cols " + std::to_string(cols));
            Buffer x(t, 4, cols, 3), w(wt, 1, cols, 0);
            fill_activations(x, rng);
            fill_activations(w, rng);
            if (special == 0) store_value(w, 0, 5, NAN);
            if (special == 1) {
              store_value(w, 0, cols - 2, INFINITY);
              store_value(x, 2, cols - 2, 0.0f);
            }
            if (special == 2) store_value(x, 3, cols / 2, NAN);
            if (special == 3) store_value(x, 0, 1, nan_bits(0x7fffffffu));  // as f32; f16/bf16 store a NaN
            if (special == 4) store_value(w, 0, 6, nan_bits(0xffffffffu));
            Buffer q0(DType::i8, 4, cols, 3), q1 = q0;
            std::vector<float> sc0(4), sc1(4);
            const ConstVector nw{w.bytes.data(), wt, cols};
            scalar_->rmsnorm_quantize(x.view(), nw, 1e-6f, o, q0.mut(), sc0.data());
            avx2_->rmsnorm_quantize(x.view(), nw, 1e-6f, o, q1.mut(), sc1.data());
            EXPECT_TRUE(q0.guards_intact());
            EXPECT_TRUE(q0.bytes == q1.bytes);
            EXPECT_TRUE(same_bits(sc0, sc1));
          }
}

struct GemmShape {
  int64_t m, n, k;
  std::string name() const { return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k); }
};

// Tails in every dimension, odd K, tiles crossing the 256 x 256 x 128 blocking (and the 72 rows it had
// before), N = 1, K = 16384.
const GemmShape kGemmShapes[] = {{1, 1, 1},     {7, 17, 33},   {13, 31, 1025}, {6, 16, 256},  {73, 257, 301},
                                 {261, 270, 129},
                                 {3, 40, 4099}, {5, 1, 16384}, {2, 3, 16384},  {1, 300, 64}, {80, 20, 0}};

std::vector<int32_t> naive_gemm(const Buffer& a, const Buffer& b) {
  std::vector<int32_t> acc(std::size_t(a.rows * b.rows));
  for (int64_t m = 0; m < a.rows; ++m)
    for (int64_t n = 0; n < b.rows; ++n) {
      int64_t s = 0;
      for (int64_t k = 0; k < a.cols; ++k)
        s += int64_t(reinterpret_cast<const int8_t*>(a.bytes.data())[m * a.stride + k]) *
             int64_t(reinterpret_cast<const int8_t*>(b.bytes.data())[n * b.stride + k]);
      acc[std::size_t(m * b.rows + n)] = int32_t(s);
    }
  return acc;
}

TEST_F(IsaAgreement, GemmAccumulatorsAreExact) {
  std::mt19937 rng(7);
  for (const GemmShape& g : kGemmShapes) {
    SCOPED_TRACE("gemm_s8s8s32 " + g.name());
    Buffer a(DType::i8, g.m, g.k, 3), b(DType::i8, g.n, g.k, 5);
    fill_int8(a, rng);
    fill_int8(b, rng);
    if (g.k > 0) {  // the largest magnitude products in one row and column
      for (int64_t k = 0; k < g.k; ++k) store_value(a, 0, k, -128.0f), store_value(b, 0, k, -128.0f);
    }
    const std::vector<int32_t> expect = naive_gemm(a, b);
    Buffer acc[2] = {Buffer(DType::i32, g.m, g.n, 2), Buffer(DType::i32, g.m, g.n, 2)};
    scalar_->gemm_s8s8s32(a.view(), b.view(), acc[0].mut());
    avx2_->gemm_s8s8s32(a.view(), b.view(), acc[1].mut());
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(acc[i].guards_intact()) << (i ? "avx2" : "scalar");
      int mismatches = 0;
      for (int64_t m = 0; m < g.m; ++m)
        for (int64_t n = 0; n < g.n; ++n)
          mismatches += *static_cast<int32_t*>(acc[i].at(m, n)) != expect[std::size_t(m * g.n + n)];
      EXPECT_EQ(mismatches, 0) << (i ? "avx2" : "scalar");
    }
  }
}

// The prepacked weight (pack_gemm_weight, gemm_s8s8s32_packed): packed by each ISA's backend and run
// on both (the portable path reads the AVX2 path's panels), every result equal to the int64 triple loop.
// b is packed from a copy that is overwritten before the GEMM: the packed weight owns its bytes.
TEST_F(IsaAgreement, PrepackedGemmAccumulatorsAreExact) {
  std::mt19937 rng(9);
  for (const GemmShape& g : kGemmShapes) {
    Buffer a(DType::i8, g.m, g.k, 3), b(DType::i8, g.n, g.k, 5);
    fill_int8(a, rng);
    fill_int8(b, rng);
    if (g.k > 0)
      for (int64_t k = 0; k < g.k; ++k) store_value(a, 0, k, -128.0f), store_value(b, 0, k, -128.0f);
    const std::vector<int32_t> expect = naive_gemm(a, b);
    Backend* backends[2] = {scalar_.get(), avx2_.get()};
    for (Backend* packer : backends) {
      Buffer copy = b;
      const std::unique_ptr<PackedGemmWeight> packed = packer->pack_gemm_weight(copy.view());
      std::fill(copy.bytes.begin(), copy.bytes.end(), uint8_t(0x5A));
      for (Backend* runner : backends) {
        SCOPED_TRACE("gemm_s8s8s32_packed " + g.name() + " packed by " + packer->name() + ", run by " + runner->name());
        Buffer acc(DType::i32, g.m, g.n, 2);
        runner->gemm_s8s8s32_packed(a.view(), *packed, acc.mut());
        EXPECT_TRUE(acc.guards_intact());
        int mismatches = 0;
        for (int64_t m = 0; m < g.m; ++m)
          for (int64_t n = 0; n < g.n; ++n)
            mismatches += *static_cast<int32_t*>(acc.at(m, n)) != expect[std::size_t(m * g.n + n)];
        EXPECT_EQ(mismatches, 0);
      }
    }
  }
}

TEST_F(IsaAgreement, GemmW8a8Epilogues) {
  std::mt19937 rng(8);
  for (const GemmShape& g : kGemmShapes)
    for (DType t : kFloatDtypes)
      for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy})
        for (bool with_bias : {false, true}) {
          if (g.k > 4099 && (t != DType::f16 || with_bias)) continue;  // the K = 16384 shapes once each
          SCOPED_TRACE(std::string("gemm_w8a8 ") + to_string(e) + " " + to_string(t) + (with_bias ? " bias " : " ") + g.name());
          Buffer a(DType::i8, g.m, g.k, 1), b(DType::i8, g.n, g.k, 0), bias(t, 1, g.n, 0);
          fill_int8(a, rng);
          fill_int8(b, rng);
          fill_activations(bias, rng);
          std::vector<float> sa = positive_vector(g.m, rng, 1e-4f, 0.05f), sb = positive_vector(g.n, rng, 1e-4f, 0.05f);
          const ConstVector bv{with_bias ? bias.bytes.data() : nullptr, t, g.n};
          Buffer out0(t, g.m, g.n, 3), out1 = out0;
          scalar_->gemm_w8a8(a.view(), b.view(), sa.data(), sb.data(), bv, e, out0.mut());
          avx2_->gemm_w8a8(a.view(), b.view(), sa.data(), sb.data(), bv, e, out1.mut());
          EXPECT_TRUE(out0.guards_intact());
          EXPECT_TRUE(out0.bytes == out1.bytes);
          // The same epilogue over each ISA's prepacked weight: the same bytes.
          for (Backend* backend : {scalar_.get(), avx2_.get()}) {
            Buffer out2 = out0;
            std::fill(out2.bytes.begin(), out2.bytes.end(), kPoison);
            backend->gemm_w8a8_packed(a.view(), *backend->pack_gemm_weight(b.view()), sa.data(), sb.data(), bv, e,
                                      out2.mut());
            EXPECT_TRUE(out2.bytes == out0.bytes) << backend->name() << " prepacked";
          }
        }
}

}  // namespace
}  // namespace smoothcheck::kernels
