// verify's vectorised re-derivation (harness/pipeline/rederived_weights_avx2.h) against the reference
// path of rederive_weights, on lmdeploy exports in f16 and bf16 with and without a fused row divisor:
// exports the reference itself makes (the vectorised path must confirm them, so that it is not
// silently idle), exports with one code or one scale off (it must not confirm those: the reference
// then decides, and both paths report the same), and exports smoothed through float32 first, a double
// rounding that lands on a midpoint of the model's dtype (a vectorised path that rounded that way
// would confirm them; it must not).
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/pipeline/rederived_weights.h"
#include "harness/pipeline/rederived_weights_avx2.h"
#include "reference/reference.h"

namespace smoothcheck::pipeline {
namespace {

using SmoothingRounding = double (*)(double exact, DType arithmetic);

double correctly_rounded(double exact, DType t) { return reference::round_to_dtype(exact, t); }
double through_f32(double exact, DType t) {
  return reference::round_to_dtype(reference::round_to_dtype(exact, DType::f32), t);
}

struct Export {
  FloatMatrix original;
  std::vector<float> s, rowdiv;
  at::Tensor codes, scale;
};

// rows x cols weights of the model's dtype in (-0.08, 0.08), an s in [0.25, 4) and, with a divisor, a d
// in [0.25, 4) per row; quantize() below makes the codes and scales.
Export make_export(int64_t rows, int64_t cols, DType t, bool with_divisor, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> weight(-0.08, 0.08), scale(0.25, 4.0);
  Export e;
  e.original = FloatMatrix{rows, cols, std::vector<float>(static_cast<std::size_t>(rows * cols))};
  for (float& w : e.original.data) w = static_cast<float>(reference::round_to_dtype(weight(rng), t));
  for (int64_t j = 0; j < cols; ++j) e.s.push_back(static_cast<float>(scale(rng)));
  for (int64_t r = 0; with_divisor && r < rows; ++r) e.rowdiv.push_back(static_cast<float>(scale(rng)));
  return e;
}

// The reference's codes and scales for e's (possibly edited) weights, with w·s rounded by `smooth` (÷ d
// as the recipe does).
void quantize(Export& e, DType t, SmoothingRounding smooth = correctly_rounded) {
  const int64_t rows = e.original.rows, cols = e.original.cols;
  reference::Matrix smoothed(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      double v = smooth(static_cast<double>(e.original.data[r * cols + j]) * e.s[j], t);
      if (!e.rowdiv.empty()) v = reference::round_to_dtype(reference::round_to_dtype(v / e.rowdiv[r], DType::f32), t);
      smoothed.at(r, j) = v;
    }
  const reference::Quantized q = reference::quantize_weight_stepwise(smoothed, WeightQuant::lmdeploy, t);
  e.codes = at::empty({rows, cols}, at::kChar);
  e.scale = at::empty({rows}, at::kFloat);
  for (int64_t r = 0; r < rows; ++r) {
    e.scale.data_ptr<float>()[r] = static_cast<float>(q.scale[r]);
    for (int64_t j = 0; j < cols; ++j) e.codes.data_ptr<int8_t>()[r * cols + j] = static_cast<int8_t>(q.codes.at(r, j));
  }
}

RederivedWeights run(const Export& e, DType t, RederivationPath path) {
  return rederive_weights(e.original, e.codes, e.scale, e.s, e.rowdiv.empty() ? nullptr : &e.rowdiv,
                          WeightQuant::lmdeploy, t, 0, path);
}

// Everything but which path decided.
void expect_same_verdict(const RederivedWeights& a, const RederivedWeights& b, const std::string& what) {
  EXPECT_EQ(a.max_scale_error_u, b.max_scale_error_u) << what;
  EXPECT_EQ(a.worst_scale_row, b.worst_scale_row) << what;
  EXPECT_EQ(a.worst_scale_stored, b.worst_scale_stored) << what;
  EXPECT_EQ(a.worst_scale_recipe, b.worst_scale_recipe) << what;
  EXPECT_EQ(a.codes, b.codes) << what;
  EXPECT_EQ(a.midpoint_codes, b.midpoint_codes) << what;
  EXPECT_EQ(a.wrong_codes, b.wrong_codes) << what;
  EXPECT_EQ(a.first_wrong_row, b.first_wrong_row) << what;
  EXPECT_EQ(a.first_wrong_col, b.first_wrong_col) << what;
  EXPECT_EQ(a.first_wrong_stored, b.first_wrong_stored) << what;
  EXPECT_EQ(a.first_wrong_recipe, b.first_wrong_recipe) << what;
}

struct Shape {
  DType dtype;
  bool divisor;
  int64_t rows, cols;
};

class VectorizedRederivation : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    if (!vectorized_rederivation_available(WeightQuant::lmdeploy, GetParam().dtype))
      GTEST_SKIP() << "this CPU lacks AVX2/FMA/F16C: verify re-derives every row with the reference here";
  }
};

void PrintTo(const Shape& s, std::ostream* os) {
  *os << to_string(s.dtype) << (s.divisor ? " with a row divisor " : " ") << s.rows << "x" << s.cols;
}

TEST_P(VectorizedRederivation, ConfirmsTheReferencesOwnExport) {
  const Shape& p = GetParam();
  Export e = make_export(p.rows, p.cols, p.dtype, p.divisor, 1);
  quantize(e, p.dtype);
  const RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  const RederivedWeights ref = run(e, p.dtype, RederivationPath::reference);
  expect_same_verdict(fast, ref, "an exact export");
  EXPECT_EQ(fast.wrong_codes, 0);
  EXPECT_EQ(fast.max_scale_error_u, 0);
  // Every block but the sampled ones (block 0 and every 64th, 4 rows each) is the vectorised path's.
  EXPECT_EQ(fast.rows_vectorized + fast.rows_by_reference, p.rows);
  EXPECT_EQ(fast.rows_by_reference, std::min<int64_t>(4, p.rows) + (p.rows > 256 ? std::min<int64_t>(4, p.rows - 256) : 0));
  EXPECT_EQ(ref.rows_vectorized, 0);
  EXPECT_EQ(ref.rows_by_reference, p.rows);
}

TEST_P(VectorizedRederivation, LeavesAWrongCodeOrScaleToTheReference) {
  const Shape& p = GetParam();
  Export e = make_export(p.rows, p.cols, p.dtype, p.divisor, 2);
  quantize(e, p.dtype);
  // Row 9 (block 2, not sampled): one code one step off, in the last column (the tail's lanes when
  // cols is not a multiple of 8).
  const int64_t r = 9, j = p.cols - 1;
  int8_t& code = e.codes.data_ptr<int8_t>()[r * p.cols + j];
  code = static_cast<int8_t>(code == 127 ? 126 : code + 1);
  RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "one wrong code");
  EXPECT_EQ(fast.wrong_codes, 1);
  EXPECT_EQ(fast.first_wrong_row, r);
  EXPECT_EQ(fast.first_wrong_col, j);

  // Row 13's scale one f32 ulp off.
  quantize(e, p.dtype);
  float& scale = e.scale.data_ptr<float>()[13];
  scale = std::nextafter(scale, 1.0f);
  fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "one scale one ulp off");
  EXPECT_EQ(fast.worst_scale_row, 13);
  EXPECT_GT(fast.max_scale_error_u, 0);
}

// w·s = (1 + 2^-(p) + 2^-23)(1 − 2^-24), p the dtype's precision: through f32 it becomes exactly the
// dtype's midpoint 1 + 2^-p and rounds (to even) down to 1, while correctly rounded it goes up to the
// next value. Rows 20..23 (block 5, not sampled) get it in column 2: about 1, it is their absmax (the
// other products are below 0.08 · 4) and decides their scale. Not yet quantised.
Export export_with_midpoint_product(const Shape& p, uint64_t seed) {
  Export e = make_export(p.rows, p.cols, p.dtype, false, seed);
  const int precision = p.dtype == DType::f16 ? 11 : 8;
  const float w = static_cast<float>(1.0 + std::ldexp(1.0, -precision) + std::ldexp(1.0, -23));
  const float s = static_cast<float>(1.0 - std::ldexp(1.0, -24));
  EXPECT_NE(correctly_rounded(static_cast<double>(w) * s, p.dtype), through_f32(static_cast<double>(w) * s, p.dtype));
  e.s[2] = s;
  for (int64_t r = 20; r < 24; ++r) e.original.data[r * p.cols + 2] = w;
  return e;
}

TEST_P(VectorizedRederivation, DoesNotConfirmASmoothingRoundedThroughF32) {
  const Shape& p = GetParam();
  if (p.divisor) GTEST_SKIP() << "the fused divisor rounds in f32 by the recipe itself: no double rounding to show";
  Export e = export_with_midpoint_product(p, 3);
  quantize(e, p.dtype, through_f32);
  const RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "smoothing through f32");
  EXPECT_EQ(fast.worst_scale_row, 20);
  EXPECT_GT(fast.max_scale_error_u, 0) << "the double-rounded scale went unnoticed";
}

// The same product in a correct export: its f32 rounding lands on the dtype's midpoint, but the exact
// product lies above it. A vectorised path that rounded through f32 would not confirm these rows, and
// every row would go to the reference (no wrong verdict, but the speed lost unseen); rounding to odd
// confirms them.
TEST_P(VectorizedRederivation, ConfirmsAProductWhoseF32RoundingIsAMidpoint) {
  const Shape& p = GetParam();
  if (p.divisor) GTEST_SKIP() << "one shape per dtype is enough; the divisor does not change the product";
  Export e = export_with_midpoint_product(p, 6);
  quantize(e, p.dtype);
  const RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "a product rounded to a midpoint in f32");
  EXPECT_EQ(fast.wrong_codes, 0);
  EXPECT_EQ(fast.rows_by_reference, 4 + 4) << "only the sampled blocks 0 and 64 belong to the reference";
}

// A weight whose quotient by the row's scale the reciprocal puts on the other side of a half than the
// division does (found by search among the dtype's values): the vectorised path's division-free code
// test must hand that lane to the division, and so confirm the reference's code and refuse the other.
TEST_P(VectorizedRederivation, DecidesACodeNearAHalfByTheDivision) {
  const Shape& p = GetParam();
  if (p.divisor) GTEST_SKIP() << "one shape per dtype is enough; the code test does not see the divisor";
  float absmax = 0, v = 0;
  for (uint32_t a = 0; a < 0x10000 && absmax == 0; ++a) {
    const float am = static_cast<float>(reference::round_to_dtype(0.5 + a / 131072.0, p.dtype));  // in [0.5, 1)
    const float scale = am / 127.0f, reciprocal = 1.0f / scale;
    for (uint32_t k = 1; k < 2048; ++k) {
      const float x = static_cast<float>(reference::round_to_dtype(am * k / 2048.0, p.dtype));
      if (std::nearbyint(x / scale) != std::nearbyint(x * reciprocal)) {
        absmax = am;
        v = x;
        break;
      }
    }
  }
  ASSERT_NE(absmax, 0) << "no weight found whose code the reciprocal gets wrong";
  Export e = make_export(p.rows, p.cols, p.dtype, false, 7);
  // Row 40 (block 10, not sampled): its absmax and the weight, both with s = 1; the rest of the row is
  // below the absmax (|w·s| < 0.08 · 4, the absmax at least 0.5).
  e.s[0] = e.s[1] = 1.0f;
  e.original.data[40 * p.cols + 0] = absmax;
  e.original.data[40 * p.cols + 1] = v;
  quantize(e, p.dtype);
  const float scale = absmax / 127.0f;
  ASSERT_EQ(e.scale.data_ptr<float>()[40], scale);
  ASSERT_EQ(e.codes.data_ptr<int8_t>()[40 * p.cols + 1], static_cast<int8_t>(std::nearbyint(v / scale)));
  RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "a code near a half");
  EXPECT_EQ(fast.wrong_codes, 0);
  EXPECT_EQ(fast.rows_by_reference, 4 + 4) << "the reference's code, near a half, was not confirmed";
  // The reciprocal's code instead: refused, and the reference names it.
  e.codes.data_ptr<int8_t>()[40 * p.cols + 1] = static_cast<int8_t>(std::nearbyint(v * (1.0f / scale)));
  fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "the reciprocal's code");
  EXPECT_EQ(fast.wrong_codes, 1);
  EXPECT_EQ(fast.first_wrong_row, 40);
  EXPECT_EQ(fast.first_wrong_col, 1);
}

// Values the dtype cannot hold, and zero rows: the vectorised path leaves those rows to the reference.
TEST_P(VectorizedRederivation, LeavesZeroAndOverflowingRowsToTheReference) {
  const Shape& p = GetParam();
  Export e = make_export(p.rows, p.cols, p.dtype, p.divisor, 4);
  for (int64_t j = 0; j < p.cols; ++j) e.original.data[30 * p.cols + j] = 0.0f;  // row 30: zero
  if (p.dtype == DType::f16) e.original.data[33 * p.cols + 1] = 60000.0f;         // row 33: w·s past 65504
  quantize(e, p.dtype);
  const RederivedWeights fast = run(e, p.dtype, RederivationPath::vectorized_where_available);
  expect_same_verdict(fast, run(e, p.dtype, RederivationPath::reference), "zero and overflowing rows");
  EXPECT_GE(fast.rows_by_reference, 4 + 4);  // block 0 and block 7 (rows 28..31) at least
}

INSTANTIATE_TEST_SUITE_P(Lmdeploy, VectorizedRederivation,
                         ::testing::Values(Shape{DType::f16, false, 300, 37}, Shape{DType::f16, true, 300, 64},
                                           Shape{DType::bf16, false, 300, 64}, Shape{DType::bf16, true, 300, 45}));

// Where it does not apply, no row goes through it.
TEST(VectorizedRederivationScope, OnlyLmdeployInTheModelsHalfPrecision) {
  EXPECT_FALSE(vectorized_rederivation_available(WeightQuant::lmdeploy, DType::f32));
  EXPECT_FALSE(vectorized_rederivation_available(WeightQuant::smoothquant, DType::f16));
  EXPECT_FALSE(vectorized_rederivation_available(WeightQuant::compressed_tensors, DType::bf16));
  Export e = make_export(40, 16, DType::bf16, false, 5);
  quantize(e, DType::bf16);
  const RederivedWeights r = rederive_weights(e.original, e.codes, e.scale, e.s, nullptr, WeightQuant::smoothquant,
                                              DType::bf16);
  EXPECT_EQ(r.rows_vectorized, 0);
  EXPECT_EQ(r.rows_by_reference, 40);
}

// also_on_rows (verify's error scan beside the re-derivation) sees every row exactly once, on either
// path, the last block short (a row count that is no multiple of the block's).
TEST(RederivationRowHook, SeesEveryRowOnce) {
  Export e = make_export(301, 40, DType::f16, true, 6);
  quantize(e, DType::f16);
  for (RederivationPath path : {RederivationPath::vectorized_where_available, RederivationPath::reference}) {
    std::vector<std::atomic<int>> seen(301);
    rederive_weights(e.original, e.codes, e.scale, e.s, &e.rowdiv, WeightQuant::lmdeploy, DType::f16, 0, path,
                     [&](int64_t first_row, int64_t rows) {
                       for (int64_t r = first_row; r < first_row + rows; ++r) seen[static_cast<std::size_t>(r)]++;
                     });
    for (std::size_t r = 0; r < seen.size(); ++r) EXPECT_EQ(seen[r].load(), 1) << "row " << r;
  }
}

}  // namespace
}  // namespace smoothcheck::pipeline
