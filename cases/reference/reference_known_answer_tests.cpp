// Known answers for every reference step, worked out by hand in the comments. Each test names the
// public implementation whose rule it pins down (numerics.md section in brackets).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <stdexcept>

#include "reference/reference.h"

namespace smoothcheck::reference {
namespace {

Matrix matrix(std::initializer_list<std::initializer_list<double>> rows) {
  Matrix m(static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows.begin()->size()));
  int64_t r = 0;
  for (const auto& row : rows) {
    int64_t c = 0;
    for (double v : row) m.at(r, c++) = v;
    ++r;
  }
  return m;
}

void expect_values(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(actual[i], expected[i]) << "element " << i;
}

void expect_values(const Matrix& actual, const Matrix& expected) {
  ASSERT_EQ(actual.rows, expected.rows);
  ASSERT_EQ(actual.cols, expected.cols);
  expect_values(actual.values, expected.values);
}

const double inf = std::numeric_limits<double>::infinity();
double pow2(int k) { return std::ldexp(1.0, k); }

// ---- round_to_dtype --------------------------------------------------------------------------------

TEST(RoundToDtype, TiesGoToEven) {
  // f16 has 10 fraction bits: 1 + 2^-11 lies halfway between 1 (even) and 1 + 2^-10 (odd);
  // 1 + 3*2^-11 halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(round_to_dtype(1 + pow2(-11), DType::f16), 1.0);
  EXPECT_EQ(round_to_dtype(1 + 3 * pow2(-11), DType::f16), 1 + pow2(-9));
  EXPECT_EQ(round_to_dtype(-(1 + 3 * pow2(-11)), DType::f16), -(1 + pow2(-9)));
  // bf16, 7 fraction bits.
  EXPECT_EQ(round_to_dtype(1 + pow2(-8), DType::bf16), 1.0);
  EXPECT_EQ(round_to_dtype(1 + 3 * pow2(-8), DType::bf16), 1 + pow2(-6));
  // f32, 23 fraction bits.
  EXPECT_EQ(round_to_dtype(1 + pow2(-24), DType::f32), 1.0);
  EXPECT_EQ(round_to_dtype(1 + 3 * pow2(-24), DType::f32), 1 + pow2(-22));
  // Just off a tie goes to the nearer value.
  EXPECT_EQ(round_to_dtype(1 + pow2(-11) + pow2(-40), DType::f16), 1 + pow2(-10));
}

TEST(RoundToDtype, NoDoubleRoundingThroughFloat) {
  // 1 + 2^-11 + 2^-40 rounds to f32 as 1 + 2^-11 (2^-40 is below f32's half ulp), an f16 tie that then
  // goes to 1; the correct f16 rounding of the double is 1 + 2^-10.
  const double v = 1 + pow2(-11) + pow2(-40);
  EXPECT_EQ(static_cast<double>(static_cast<float>(v)), 1 + pow2(-11));
  EXPECT_EQ(round_to_dtype(v, DType::f16), 1 + pow2(-10));
}

TEST(RoundToDtype, SubnormalsAndSignedZero) {
  // f16's smallest subnormal is 2^-24: 2^-25 is a tie between 0 (even) and 2^-24; 3*2^-25 a tie
  // between 2^-24 (odd) and 2^-23 (even).
  EXPECT_EQ(round_to_dtype(pow2(-24), DType::f16), pow2(-24));
  EXPECT_EQ(round_to_dtype(pow2(-25), DType::f16), 0.0);
  EXPECT_EQ(round_to_dtype(pow2(-25) + pow2(-60), DType::f16), pow2(-24));
  EXPECT_EQ(round_to_dtype(3 * pow2(-25), DType::f16), pow2(-23));
  EXPECT_EQ(round_to_dtype(1023 * pow2(-24), DType::f16), 1023 * pow2(-24));  // largest subnormal
  EXPECT_EQ(round_to_dtype(1023.5 * pow2(-24), DType::f16), pow2(-14));        // carries into the smallest normal
  const double negative_underflow = round_to_dtype(-pow2(-26), DType::f16);
  EXPECT_EQ(negative_underflow, 0.0);
  EXPECT_TRUE(std::signbit(negative_underflow));
  EXPECT_EQ(round_to_dtype(pow2(-133), DType::bf16), pow2(-133));  // bf16's smallest subnormal
  EXPECT_EQ(round_to_dtype(pow2(-134), DType::bf16), 0.0);
  EXPECT_EQ(round_to_dtype(pow2(-149), DType::f32), pow2(-149));   // f32's smallest subnormal
  EXPECT_EQ(round_to_dtype(3 * pow2(-150), DType::f32), pow2(-148));
  EXPECT_EQ(round_to_dtype(pow2(-1070), DType::f16), 0.0);  // a float64 subnormal
}

TEST(RoundToDtype, OverflowToInfinity) {
  // f16's largest finite value is 65504 with spacing 32 there: 65520 is the tie with 65536, even,
  // which does not exist, so it is infinity.
  EXPECT_EQ(round_to_dtype(65504.0, DType::f16), 65504.0);
  EXPECT_EQ(round_to_dtype(65519.99, DType::f16), 65504.0);
  EXPECT_EQ(round_to_dtype(65520.0, DType::f16), inf);
  EXPECT_EQ(round_to_dtype(-65520.0, DType::f16), -inf);
  EXPECT_EQ(round_to_dtype(1e300, DType::f16), inf);
  const double bf16_max = (2 - pow2(-7)) * pow2(127);
  EXPECT_EQ(round_to_dtype(bf16_max, DType::bf16), bf16_max);
  EXPECT_EQ(round_to_dtype((2 - pow2(-8)) * pow2(127), DType::bf16), inf);
  EXPECT_EQ(round_to_dtype(static_cast<double>(FLT_MAX), DType::f32), static_cast<double>(FLT_MAX));
  EXPECT_EQ(round_to_dtype((2 - pow2(-24)) * pow2(127), DType::f32), inf);
  EXPECT_EQ(round_to_dtype(-inf, DType::bf16), -inf);
}

TEST(RoundToDtype, PassThroughAndErrors) {
  EXPECT_EQ(round_to_dtype(0.1, DType::f64), 0.1);
  EXPECT_EQ(round_to_dtype(0.1, DType::f32), static_cast<double>(0.1f));
  EXPECT_TRUE(std::isnan(round_to_dtype(std::nan(""), DType::f16)));
  EXPECT_THROW(round_to_dtype(1.0, DType::i8), std::invalid_argument);
  EXPECT_THROW(round_to_dtype(1.0, DType::i32), std::invalid_argument);
}

// ---- §1 activation statistics ----------------------------------------------------------------------

const Matrix stats_batch = matrix({{1, -2, 0, 4},  //
                                   {-3, 1, 0, 2},
                                   {2, 0.5, 0, -6}});

TEST(ChannelStats, ThreeByFour) {
  const BatchChannelStats s = channel_stats(stats_batch);
  expect_values(s.absmax, {3, 2, 0, 6});
  expect_values(s.min, {-3, -2, 0, -6});
  expect_values(s.max, {2, 1, 0, 4});
  expect_values(s.sum, {0, -0.5, 0, 0});
  expect_values(s.abssum, {6, 3.5, 0, 12});
  EXPECT_THROW(channel_stats(Matrix(0, 4)), std::invalid_argument);
}

TEST(ActivationStatsAccumulator, LmdeployRunningRules) {
  ActivationStatsAccumulator acc;
  acc.update(stats_batch);
  acc.update(matrix({{10, -1, 0, 1}}));
  EXPECT_EQ(acc.batches(), 2);
  expect_values(acc.absmax(), {10, 2, 0, 6});
  expect_values(acc.min(), {-3, -2, 0, -6});
  expect_values(acc.max(), {10, 1, 0, 4});
  // Batch means [0, -1/6, 0, 0] and [10, -1, 0, 1] weigh equally: channel 0 is 5, not the per-token
  // mean 10/4.
  expect_values(acc.mean(), {5, -7.0 / 12, 0, 0.5});
  // Batch absmeans [2, 7/6, 0, 4] and [10, 1, 0, 1].
  expect_values(acc.absmean(), {6, 13.0 / 12, 0, 2.5});
  EXPECT_THROW(acc.update(matrix({{1, 2, 3}})), std::invalid_argument);
}

// ---- §2 weight statistic ---------------------------------------------------------------------------

// Two fcs reading one input; their rows concatenated are
//   r0 [ 1,   -2, 0.5, 0]   absmax 2
//   r1 [ 4,    1, 0,   0]   absmax 4
//   r2 [-0.5,  8, 0,   0]   absmax 8
const std::vector<Matrix> two_fcs = {matrix({{1, -2, 0.5, 0}, {4, 1, 0, 0}}), matrix({{-0.5, 8, 0, 0}})};

TEST(WeightStat, SmoothQuantColumnAbsmaxClampedTo1em5) {
  expect_values(weight_stat(two_fcs, Recipe::smoothquant, -1), {4, 8, 0.5, 1e-5});
}

TEST(WeightStat, LlmCompressorTwiceColumnAbsmax) {
  expect_values(weight_stat(two_fcs, Recipe::llmcompressor, -1), {8, 16, 1, 0});
}

TEST(WeightStat, LmdeployRowNormalisedMean) {
  // Rows over their absmax: [0.5, 1, 0.25, 0], [1, 0.25, 0, 0], [1/16, 1, 0, 0]; column means over 3 rows.
  expect_values(weight_stat(two_fcs, Recipe::lmdeploy, -1), {1.5625 / 3, 0.75, 0.25 / 3, 0});
  // A zero row: its absmax is clamped to 1e-4, it contributes 0 (not NaN) and counts as a row.
  std::vector<Matrix> with_zero_row = two_fcs;
  with_zero_row.push_back(matrix({{0, 0, 0, 0}}));
  expect_values(weight_stat(with_zero_row, Recipe::lmdeploy, -1), {1.5625 / 4, 2.25 / 4, 0.25 / 4, 0});
}

TEST(WeightStat, LmdeployGroups) {
  // group_size 2: r0 groups [1, -2] [0.5, 0] -> [0.5, 1] [1, 0]; r1 [4, 1] [0, 0] -> [1, 0.25] [0, 0]
  // (clamped absmax); r2 [-0.5, 8] [0, 0] -> [1/16, 1] [0, 0].
  expect_values(weight_stat(two_fcs, Recipe::lmdeploy, 2), {1.5625 / 3, 0.75, 1.0 / 3, 0});
  EXPECT_THROW(weight_stat(two_fcs, Recipe::lmdeploy, 3), std::invalid_argument);
}

TEST(WeightStat, Errors) {
  EXPECT_THROW(weight_stat({}, Recipe::smoothquant, -1), std::invalid_argument);
  EXPECT_THROW(weight_stat({matrix({{1, 2}}), matrix({{1, 2, 3}})}, Recipe::smoothquant, -1), std::invalid_argument);
}

// ---- §3 smoothing scale ----------------------------------------------------------------------------

// a = [4, 1, 9], w = [1, 4, 0.25], alpha 0.5: sqrt(a) / sqrt(w) = [2/1, 1/2, 3/0.5] = [2, 0.5, 6].
const Vector a3 = {4, 1, 9};
const Vector w3 = {1, 4, 0.25};

TEST(SmoothScale, SmoothQuant) {
  expect_values(smooth_scale(a3, w3, {}, Recipe::smoothquant, 0.5), {2, 0.5, 6});
  expect_values(smooth_scale(a3, w3, {}, Recipe::smoothquant, 1.0), {4, 1, 9});       // s = a
  expect_values(smooth_scale(a3, w3, {}, Recipe::smoothquant, 0.0), {1, 0.25, 4});    // s = 1 / w
  expect_values(smooth_scale({0, 1, 9}, w3, {}, Recipe::smoothquant, 0.5), {1e-5, 0.5, 6});  // clamp
}

TEST(SmoothScale, LmdeployNormalisesMaxTimesMinToOne) {
  // [2, 0.5, 6] / sqrt(6 * 0.5).
  const Vector s = smooth_scale(a3, w3, {}, Recipe::lmdeploy, 0.5);
  expect_values(s, {2 / std::sqrt(3.0), 0.5 / std::sqrt(3.0), 6 / std::sqrt(3.0)});
  EXPECT_NEAR(s[1] * s[2], 1.0, 1e-15);
  // Norm weight 0 on channel 1: max and min over channels 0 and 2 only, [2, 6] / sqrt(12); s_1 = 1.
  const Vector s_norm = smooth_scale(a3, w3, {1, 0, 1}, Recipe::lmdeploy, 0.5);
  expect_values(s_norm, {1 / std::sqrt(3.0), 1, std::sqrt(3.0)});
  EXPECT_NEAR(s_norm[0] * s_norm[2], 1.0, 1e-15);
  expect_values(smooth_scale(a3, w3, {0, 0, 0}, Recipe::lmdeploy, 0.5), {1, 1, 1});
}

TEST(SmoothScale, LmdeployClamps) {
  // a = 0: s = max(0, 1e-4) = 1e-4; s = [1e-4, 1, 2] / sqrt(2 * 1e-4).
  const Vector s = smooth_scale({0, 1, 4}, {1, 1, 1}, {}, Recipe::lmdeploy, 0.5);
  expect_values(s, {1e-4 / std::sqrt(2e-4), 1 / std::sqrt(2e-4), 2 / std::sqrt(2e-4)});
  // w = 0: w' = max(0, 1e-4); s = [1 / 1e-4, 1, 2] = [1e4, 1, 2], / sqrt(1e4 * 1) = [100, 0.01, 0.02].
  expect_values(smooth_scale({1, 1, 4}, {0, 1, 1}, {}, Recipe::lmdeploy, 0.5), {100, 0.01, 0.02});
}

TEST(SmoothScale, LlmCompressor) {
  // w = 2 * absmax = [1, 4, 0]: s = [2, 0.5, a_2 = 9 (where w = 0 s = range)].
  expect_values(smooth_scale(a3, {1, 4, 0}, {}, Recipe::llmcompressor, 0.5), {2, 0.5, 9});
  expect_values(smooth_scale({0, 1, 9}, {1, 4, 0}, {}, Recipe::llmcompressor, 0.5), {1e-5, 0.5, 9});
}

TEST(SmoothScale, Errors) {
  EXPECT_THROW(smooth_scale(a3, w3, {}, Recipe::smoothquant, 1.5), std::invalid_argument);
  EXPECT_THROW(smooth_scale(a3, w3, {}, Recipe::smoothquant, -0.1), std::invalid_argument);
  EXPECT_THROW(smooth_scale(a3, {1, 4}, {}, Recipe::smoothquant, 0.5), std::invalid_argument);
  EXPECT_THROW(smooth_scale(a3, w3, {1, 1}, Recipe::lmdeploy, 0.5), std::invalid_argument);
  EXPECT_THROW(smooth_scale({-1, 1, 9}, w3, {}, Recipe::smoothquant, 0.5), std::invalid_argument);
  EXPECT_THROW(smooth_scale(a3, {0, 4, 0.25}, {}, Recipe::smoothquant, 0.5), std::invalid_argument);
  EXPECT_THROW(smooth_scale({}, {}, {}, Recipe::smoothquant, 0.5), std::invalid_argument);
}

// ---- §4 applying s ---------------------------------------------------------------------------------

TEST(ApplySmoothing, ExactResults) {
  expect_values(scale_columns(matrix({{1, 2}, {3, -4}}), {0.5, 3}, DType::f16), matrix({{0.5, 6}, {1.5, -12}}));
  expect_values(divide_rows(matrix({{2, 4}, {3, 9}}), {2, 3}, DType::bf16), matrix({{1, 2}, {1, 3}}));
  expect_values(divide_vector({2, -9}, {2, 3}, DType::f32), {1, -3});
}

TEST(ApplySmoothing, RoundsToTheDtype) {
  // 1/3 = 1.0101010101|0101...b * 2^-2: f16 keeps 10 fraction bits and rounds down (0x3555);
  // bf16 keeps 7, 1.0101010|1010...b, and rounds up (0x3EAB).
  expect_values(divide_vector({1}, {3}, DType::f16), {0.333251953125});
  expect_values(divide_vector({1}, {3}, DType::bf16), {0.333984375});
  expect_values(divide_vector({1}, {3}, DType::f64), {1.0 / 3});
}

TEST(ApplySmoothing, ExactProductAndQuotientNotTheirFloat64Rounding) {
  // (1 + 2^-52)(1 + 2^-11 - 2^-52) = 1 + 2^-11 + 2^-63 - 2^-104: float64 gives the f16 tie 1 + 2^-11
  // (which would go to 1), the exact value is above it: 1 + 2^-10.
  const double a = 1 + pow2(-52), b = 1 + pow2(-11) - pow2(-52);
  EXPECT_EQ(round_to_dtype(a * b, DType::f16), 1.0);
  expect_values(scale_columns(matrix({{a}}), {b}, DType::f16), matrix({{1 + pow2(-10)}}));
  // (T + 2^-52) / (1 + 2^-52) with T = 1 + 3*2^-11 is T - 3*2^-63 + ...: float64 gives the tie T
  // (which would go to the even 1 + 2^-9), the exact value is below it: 1 + 2^-10.
  const double t = 1 + 3 * pow2(-11), v = t + pow2(-52), s = 1 + pow2(-52);
  EXPECT_EQ(round_to_dtype(v / s, DType::f16), 1 + pow2(-9));
  expect_values(divide_vector({v}, {s}, DType::f16), {1 + pow2(-10)});
  expect_values(divide_rows(matrix({{v}}), {s}, DType::f16), matrix({{1 + pow2(-10)}}));
}

TEST(ApplySmoothing, Errors) {
  EXPECT_THROW(scale_columns(matrix({{1, 2}}), {1}, DType::f16), std::invalid_argument);
  EXPECT_THROW(scale_columns(matrix({{1, 2}}), {1, 0}, DType::f16), std::invalid_argument);
  EXPECT_THROW(divide_rows(matrix({{1, 2}}), {-1}, DType::f16), std::invalid_argument);
  EXPECT_THROW(divide_vector({1, 2}, {1}, DType::f16), std::invalid_argument);
  EXPECT_THROW(divide_vector({1}, {1}, DType::i8), std::invalid_argument);
}

// ---- §5 weight quantisation ------------------------------------------------------------------------

// r0 absmax 127, r1 all zero, r2 absmax 254.
const Matrix weights = matrix({{127, -63.5, 0.5, 1.5},  //
                               {0, 0, 0, 0},
                               {-254, 127, 1, 3}});

TEST(QuantizeWeight, Lmdeploy) {
  const Quantized q = quantize_weight(weights, WeightQuant::lmdeploy);
  expect_values(q.scale, {1, 0, 2});
  // w / scale: r0 unchanged, r2 [-127, 63.5, 0.5, 1.5]; ties to even: -63.5 -> -64, 63.5 -> 64,
  // 0.5 -> 0, 1.5 -> 2. The zero row: scale 0 and codes 0 (lmdeploy would give 0/0).
  expect_values(q.scaled, matrix({{127, -63.5, 0.5, 1.5}, {0, 0, 0, 0}, {-127, 63.5, 0.5, 1.5}}));
  expect_values(q.codes, matrix({{127, -64, 0, 2}, {0, 0, 0, 0}, {-127, 64, 0, 2}}));
  expect_values(q.input, weights);
}

TEST(QuantizeWeight, SmoothQuant) {
  const Quantized q = quantize_weight(weights, WeightQuant::smoothquant);
  expect_values(q.scale, {1, 1e-5 / 127, 2});  // absmax clamped to 1e-5
  expect_values(q.codes, matrix({{127, -64, 0, 2}, {0, 0, 0, 0}, {-127, 64, 0, 2}}));
}

TEST(QuantizeWeight, CompressedTensorsClampsBeforeRounding) {
  // scale = absmax / 127.5, so the absmax element lands on +-127.5: -127.5 rounds to the even -128,
  // +127.5 is clamped to 127 first. With absmax 255, scale 2: 5/2 = 2.5 -> 2, 7/2 = 3.5 -> 4.
  const Quantized q = quantize_weight(matrix({{-255, 255, 5, 7}, {0, 0, 0, 0}}), WeightQuant::compressed_tensors);
  expect_values(q.scale, {2, static_cast<double>(FLT_EPSILON)});  // the zero row's scale is eps
  expect_values(q.scaled, matrix({{-127.5, 127.5, 2.5, 3.5}, {0, 0, 0, 0}}));
  expect_values(q.codes, matrix({{-128, 127, 2, 4}, {0, 0, 0, 0}}));
  // absmax 127: scale 127/127.5, 0.5 * 127.5 / 127 = 0.50197 -> 1 where lmdeploy gives 0.
  const Quantized r0 = quantize_weight(matrix({{127, -63.5, 0.5, 1.5}}), WeightQuant::compressed_tensors);
  expect_values(r0.codes, matrix({{127, -64, 1, 2}}));
}

// In a bfloat16 weight's own dtype (compressed-tensors, the authors' fake quant): absmax 191 gives
// compressed-tensors the scale bf16(191 / 127.5 = 1.49804) = 1.5 (bf16 spacing 2^-7 near 1.5), so
// 191 / 1.5 = 127.33 rounds to the bf16 127.5 and clamps to 127, -191 to -127.5 and then -128, and
// 151 / 1.5 = 100.67 to 100.5 and then the even 100, where the ideal 151 / 1.49804 = 100.80 gives 101.
// The authors' scale bf16(191 / 127) = 1.5078125 puts 191 at 126.67 -> 126.5 -> 126, not 127.
TEST(QuantizeWeight, StepwiseInTheWeightsDtype) {
  const Matrix w = matrix({{191, -191, 151, 1}});
  const Quantized ct = quantize_weight_stepwise(w, WeightQuant::compressed_tensors, DType::bf16);
  expect_values(ct.scale, {1.5});
  expect_values(ct.codes, matrix({{127, -128, 100, 1}}));
  expect_values(quantize_weight(w, WeightQuant::compressed_tensors).codes, matrix({{127, -128, 101, 1}}));
  const Quantized sq = quantize_weight_stepwise(w, WeightQuant::smoothquant, DType::bf16);
  expect_values(sq.scale, {1.5078125});
  expect_values(sq.codes, matrix({{126, -126, 100, 1}}));
  // float32 arithmetic for an f32 weight, and always for lmdeploy (its quantiser casts to float32 first).
  expect_values(quantize_weight_stepwise(w, WeightQuant::compressed_tensors, DType::f32).codes,
                matrix({{127, -128, 101, 1}}));
  EXPECT_EQ(weight_arithmetic_dtype(WeightQuant::lmdeploy, DType::bf16), DType::f32);
  EXPECT_EQ(weight_arithmetic_dtype(WeightQuant::smoothquant, DType::f16), DType::f16);
  EXPECT_THROW(quantize_weight_stepwise(matrix({{1.001}}), WeightQuant::smoothquant, DType::bf16), std::invalid_argument);
}

TEST(QuantizeWeight, Errors) {
  EXPECT_THROW(quantize_weight(Matrix(0, 3), WeightQuant::lmdeploy), std::invalid_argument);
  Matrix bad(2, 2);
  bad.values.pop_back();
  EXPECT_THROW(quantize_weight(bad, WeightQuant::lmdeploy), std::invalid_argument);
}

// ---- §6 activation quantisation --------------------------------------------------------------------

ActQuantOptions options(Rounding r, Clamp c = Clamp::saturate, ZeroRow z = ZeroRow::zero_scale, float floor = 0.0f) {
  ActQuantOptions o;
  o.rounding = r;
  o.clamp = c;
  o.zero_row = z;
  o.absmax_floor = floor;
  return o;
}

// r0 absmax 127 (scale 1), r1 all zero, r2 absmax 4 (x * 127/4 = [31.75, -63.5, 127, 15.875]).
const Matrix tokens = matrix({{127, -63.5, 0.5, -2.5},  //
                              {0, 0, 0, 0},
                              {1, -2, 4, 0.5}});

TEST(QuantizePerToken, HalfEvenVersusHalfAway) {
  const Quantized even = quantize_per_token(tokens, {}, options(Rounding::half_even));
  expect_values(even.scale, {1, 0, 4.0 / 127});
  expect_values(even.scaled, matrix({{127, -63.5, 0.5, -2.5}, {0, 0, 0, 0}, {31.75, -63.5, 127, 15.875}}));
  expect_values(even.codes, matrix({{127, -64, 0, -2}, {0, 0, 0, 0}, {32, -64, 127, 16}}));
  const Quantized away = quantize_per_token(tokens, {}, options(Rounding::half_away));
  expect_values(away.codes, matrix({{127, -64, 1, -3}, {0, 0, 0, 0}, {32, -64, 127, 16}}));
}

TEST(QuantizePerToken, ReciprocalAndDivideAreTheSameExactValue) {
  ActQuantOptions reciprocal = options(Rounding::half_even);
  ActQuantOptions divide = reciprocal;
  divide.math = ScaleMath::divide;
  expect_values(quantize_per_token(tokens, {}, reciprocal).scaled, quantize_per_token(tokens, {}, divide).scaled);
}

TEST(QuantizePerToken, ZeroRowFloor) {
  // TensorRT-LLM: the absmax starts at 1e-6 (a float), so the zero row gets scale 1e-6/127 and codes 0;
  // rows above the floor are unchanged.
  const Quantized q = quantize_per_token(tokens, {}, options(Rounding::half_even, Clamp::saturate, ZeroRow::floor, 1e-6f));
  expect_values(q.scale, {1, static_cast<double>(1e-6f) / 127, 4.0 / 127});
  expect_values(q.codes, matrix({{127, -64, 0, -2}, {0, 0, 0, 0}, {32, -64, 127, 16}}));
  EXPECT_THROW(quantize_per_token(tokens, {}, options(Rounding::half_even, Clamp::saturate, ZeroRow::floor, 0.0f)),
               std::invalid_argument);
}

TEST(QuantizePerToken, MigrationScaleDividesFirst) {
  // x / s = [2/2, -6/3, 1/0.5] = [1, -2, 2]; absmax 2: scaled [63.5, -127, 127] -> [64, -127, 127].
  const Quantized q = quantize_per_token(matrix({{2, -6, 1}}), {2, 3, 0.5}, options(Rounding::half_even));
  expect_values(q.input, matrix({{1, -2, 2}}));
  expect_values(q.scale, {2.0 / 127});
  expect_values(q.codes, matrix({{64, -127, 127}}));
  EXPECT_THROW(quantize_per_token(matrix({{2, -6, 1}}), {2, 3}, options(Rounding::half_even)), std::invalid_argument);
  EXPECT_THROW(quantize_per_token(matrix({{2, -6, 1}}), {2, 0, 1}, options(Rounding::half_even)), std::invalid_argument);
}

TEST(QuantizePerTensor, ClampVersusWrap) {
  // scale 1: rounded (half even) [200, -129, 128, -128, 3e9].
  const Matrix x = matrix({{200, -129, 127.5, -128.5, 3e9}});
  const Quantized sat = quantize_per_tensor(x, {}, 1.0, options(Rounding::half_even, Clamp::saturate));
  expect_values(sat.codes, matrix({{127, -128, 127, -128, 127}}));
  // The low byte, two's complement: 200 - 256 = -56, -129 + 256 = 127, 128 - 256 = -128; 3e9 is outside
  // int32, which converts to INT32_MIN, low byte 0.
  const Quantized wrap = quantize_per_tensor(x, {}, 1.0, options(Rounding::half_even, Clamp::none));
  expect_values(wrap.codes, matrix({{-56, 127, -128, -128, 0}}));
  expect_values(wrap.scale, {1.0});
}

TEST(QuantizePerTensor, TrueDivisionAndZeroScale) {
  // 1.25 / 0.5 = 2.5: half even 2, half away 3; -0.75 / 0.5 = -1.5: -2 both ways.
  const Matrix x = matrix({{1.25, -0.75}});
  expect_values(quantize_per_tensor(x, {}, 0.5, options(Rounding::half_even)).codes, matrix({{2, -2}}));
  expect_values(quantize_per_tensor(x, {}, 0.5, options(Rounding::half_away)).codes, matrix({{3, -2}}));
  expect_values(quantize_per_tensor(x, {}, 0.0, options(Rounding::half_even)).codes, matrix({{0, 0}}));
  EXPECT_THROW(quantize_per_tensor(x, {}, -1.0, options(Rounding::half_even)), std::invalid_argument);
}

TEST(RmsnormQuantize, KnownAnswer) {
  // mean(x^2) = 1 and eps = 0, so y = w * x = [1, -2, 0.5, -3]; absmax 3:
  // y * 127/3 = [42.33, -84.67, 21.17, -127] -> [42, -85, 21, -127].
  const Quantized q = rmsnorm_quantize(matrix({{1, -1, 1, -1}}), {1, 2, 0.5, 3}, 0.0, DType::f16, options(Rounding::half_even));
  expect_values(q.input, matrix({{1, -2, 0.5, -3}}));
  expect_values(q.scale, {3.0 / 127});
  expect_values(q.codes, matrix({{42, -85, 21, -127}}));
  // eps enters under the root: mean(x^2) = 4, eps = 12, rms 4, y = x / 4.
  expect_values(rmsnorm_quantize(matrix({{2, 2}}), {1, 1}, 12.0, DType::f32, options(Rounding::half_even)).input,
                matrix({{0.5, 0.5}}));
}

TEST(RmsnormQuantize, RoundsToTheActivationDtypeThenQuantises) {
  // y = [1 + 2^-11, 1]: f16 rounds the tie to 1, f32 keeps it.
  const Matrix x = matrix({{1, 1}});
  const Vector w = {1 + pow2(-11), 1};
  const Quantized f16 = rmsnorm_quantize(x, w, 0.0, DType::f16, options(Rounding::half_even));
  expect_values(f16.input, matrix({{1, 1}}));
  const Quantized f32 = rmsnorm_quantize(x, w, 0.0, DType::f32, options(Rounding::half_even));
  expect_values(f32.input, matrix({{1 + pow2(-11), 1}}));
  // The quantisation is quantize_per_token of that input.
  const Quantized again = quantize_per_token(f32.input, {}, options(Rounding::half_even));
  expect_values(f32.codes, again.codes);
  expect_values(f32.scale, again.scale);
  // An all-zero row with eps = 0 is 0, not NaN: scale 0, codes 0.
  const Quantized zero = rmsnorm_quantize(matrix({{0, 0}}), {1, 1}, 0.0, DType::f16, options(Rounding::half_even));
  expect_values(zero.scale, {0});
  expect_values(zero.codes, matrix({{0, 0}}));
  EXPECT_THROW(rmsnorm_quantize(x, {1}, 1e-6, DType::f16, options(Rounding::half_even)), std::invalid_argument);
  EXPECT_THROW(rmsnorm_quantize(x, w, -1.0, DType::f16, options(Rounding::half_even)), std::invalid_argument);
  EXPECT_THROW(rmsnorm_quantize(x, w, 1e-6, DType::i8, options(Rounding::half_even)), std::invalid_argument);
}

// ---- §7 GEMM ---------------------------------------------------------------------------------------

TEST(GemmExact, KnownAnswer) {
  // [1 -2 3] . [4 5 6] = 12, [1 -2 3] . [-1 1 2] = 3, [127 -128 0] . [4 5 6] = -132, . [-1 1 2] = -255.
  const Matrix acc = gemm_s8s8s32(matrix({{1, -2, 3}, {127, -128, 0}}), matrix({{4, 5, 6}, {-1, 1, 2}}));
  expect_values(acc, matrix({{12, 3}, {-132, -255}}));
  EXPECT_THROW(gemm_s8s8s32(matrix({{1, 2}}), matrix({{1, 2, 3}})), std::invalid_argument);
  EXPECT_THROW(gemm_s8s8s32(matrix({{1.5, 2}}), matrix({{1, 2}})), std::invalid_argument);
}

TEST(GemmExact, LongReductionIsExact) {
  // K = 65536 products of (-128)(-128) plus one of 1*1: 2^30 + 1, exact.
  Matrix a(1, 65537), b(1, 65537);
  for (int64_t k = 0; k < 65536; ++k) a.at(0, k) = b.at(0, k) = -128;
  a.at(0, 65536) = b.at(0, 65536) = 1;
  EXPECT_EQ(gemm_s8s8s32(a, b).at(0, 0), pow2(30) + 1);
}

TEST(W8A8Epilogue, KnownAnswer) {
  // sa = [0.5, 0.25], sb = [2, 4], bias = [1, -1]:
  // [0.5*2*12 + 1, 0.5*4*3 - 1; 0.25*2*(-132) + 1, 0.25*4*(-255) - 1] = [13, 5; -65, -256].
  const Matrix acc = matrix({{12, 3}, {-132, -255}});
  for (Epilogue e : {Epilogue::vllm, Epilogue::lmdeploy}) {
    const GemmOutput out = gemm_w8a8(acc, {0.5, 0.25}, {2, 4}, {1, -1}, e, DType::f16);
    expect_values(out.exact, matrix({{13, 5}, {-65, -256}}));
    expect_values(out.rounded, out.exact);
  }
  expect_values(gemm_w8a8(acc, {0.5, 0.25}, {2, 4}, {}, Epilogue::vllm, DType::bf16).exact,
                matrix({{12, 6}, {-66, -255}}));
}

TEST(W8A8Epilogue, LmdeployRoundsBeforeTheBias) {
  // acc 2049, scales 1, bias 1: exact 2050, which f16 holds (spacing 2 above 2048): vLLM 2050.
  // lmdeploy stores 2049 in f16 first, a tie between 2048 (even) and 2050, so 2048; 2048 + 1 is again
  // a tie: 2048.
  const Matrix acc = matrix({{2049}});
  EXPECT_EQ(gemm_w8a8(acc, {1}, {1}, {1}, Epilogue::vllm, DType::f16).rounded.at(0, 0), 2050);
  EXPECT_EQ(gemm_w8a8(acc, {1}, {1}, {1}, Epilogue::lmdeploy, DType::f16).rounded.at(0, 0), 2048);
  EXPECT_EQ(gemm_w8a8(acc, {1}, {1}, {1}, Epilogue::lmdeploy, DType::f16).exact.at(0, 0), 2050);
}

TEST(W8A8Epilogue, Errors) {
  const Matrix acc = matrix({{1, 2}});
  EXPECT_THROW(gemm_w8a8(acc, {1, 1}, {1, 1}, {}, Epilogue::vllm, DType::f16), std::invalid_argument);
  EXPECT_THROW(gemm_w8a8(acc, {1}, {1}, {}, Epilogue::vllm, DType::f16), std::invalid_argument);
  EXPECT_THROW(gemm_w8a8(acc, {1}, {1, 1}, {1}, Epilogue::vllm, DType::f16), std::invalid_argument);
  EXPECT_THROW(gemm_w8a8(acc, {1}, {1, 1}, {}, Epilogue::vllm, DType::i32), std::invalid_argument);
}

}  // namespace
}  // namespace smoothcheck::reference
