// verify's row screening (linear_error_scan.h): the AVX2 path gives the scalar path's maxima bit for
// bit on every width (the four-lane body and the tail), and both flag a NaN or an infinity wherever it
// sits. The inputs are ones on which a scan that fused q·step and w − that into one fma gives other
// bits, so the bit comparison is one such a path fails.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "harness/pipeline/linear_error_scan.h"

namespace smoothcheck::pipeline {
namespace {

struct Row {
  std::vector<float> w;
  std::vector<int8_t> q;
  std::vector<double> s, inv_s;
  double a = 0;
};

// Codes and a step with w a code's dequantised value plus noise within the bound.
Row make_row(int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0), pos(0.25, 4.0);
  Row r;
  r.a = 0.01 * pos(rng);
  for (int64_t j = 0; j < cols; ++j) {
    const double s = static_cast<float>(pos(rng));
    const auto code = static_cast<int8_t>(std::lround(127 * u(rng)));
    r.s.push_back(s);
    r.inv_s.push_back(1.0 / s);
    r.q.push_back(code);
    r.w.push_back(static_cast<float>(code * r.a / s * (1 + 0.004 * u(rng))));
  }
  return r;
}

RowErrorScan scan(const Row& r, RowScanPath path) {
  return scan_row_error(r.w.data(), r.q.data(), r.s.data(), r.inv_s.data(), r.a, static_cast<int64_t>(r.w.size()),
                        path);
}

uint64_t bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

void expect_same_bits(const RowErrorScan& vectorized, const RowErrorScan& scalar, const std::string& what) {
  EXPECT_EQ(bits(vectorized.max_ratio), bits(scalar.max_ratio)) << what << ": " << vectorized.max_ratio << " vs "
                                                                << scalar.max_ratio;
  EXPECT_EQ(bits(vectorized.max_error), bits(scalar.max_error)) << what;
  EXPECT_EQ(vectorized.finite, scalar.finite) << what;
}

const std::vector<int64_t> kWidths = {1, 3, 4, 5, 8, 63, 64, 257, 4099};

TEST(LinearErrorScan, VectorizedPathGivesTheScalarPathsBits) {
  if (!vectorized_row_error_scan_available()) GTEST_SKIP() << "this CPU has no AVX2: the scalar path alone runs";
  for (int64_t cols : kWidths)
    for (unsigned seed = 1; seed <= 20; ++seed) {
      const Row r = make_row(cols, seed * 131 + static_cast<unsigned>(cols));
      const RowErrorScan scalar = scan(r, RowScanPath::scalar);
      EXPECT_TRUE(scalar.finite);
      EXPECT_GT(scalar.max_ratio, 0.0);
      expect_same_bits(scan(r, RowScanPath::vectorized_where_available), scalar,
                       std::to_string(cols) + " columns, seed " + std::to_string(seed));
    }
}

TEST(LinearErrorScan, NanOrInfinityAnywhereIsFlaggedOnBothPaths) {
  const int64_t cols = 67;  // a body of 64 and a tail of 3
  for (int64_t at : {int64_t{0}, int64_t{5}, int64_t{63}, int64_t{64}, int64_t{66}})
    for (int kind = 0; kind < 4; ++kind) {
      Row r = make_row(cols, 7);
      if (kind == 0) r.w[at] = NAN;
      if (kind == 1) r.w[at] = INFINITY;
      if (kind == 2) r.s[at] = 0.0, r.inv_s[at] = INFINITY;  // a zero s
      if (kind == 3) r.s[at] = NAN, r.inv_s[at] = NAN;
      const std::string what = "kind " + std::to_string(kind) + " at " + std::to_string(at);
      const RowErrorScan scalar = scan(r, RowScanPath::scalar);
      EXPECT_FALSE(scalar.finite) << what;
      if (vectorized_row_error_scan_available())
        expect_same_bits(scan(r, RowScanPath::vectorized_where_available), scalar, what);
    }
}

// What a contracted scan computes: w − q·step in one fma.
double fused_max_ratio(const Row& r) {
  double worst = 0;
  for (std::size_t j = 0; j < r.w.size(); ++j) {
    const double err = std::fabs(std::fma(-static_cast<double>(r.q[j]), r.a * r.inv_s[j], static_cast<double>(r.w[j])));
    worst = std::max(worst, err * r.s[j] * (2.0 / r.a));
  }
  return worst;
}

TEST(LinearErrorScanCanFail, ItsRowsTellAContractedScanApart) {
  int told_apart = 0;
  for (int64_t cols : kWidths)
    for (unsigned seed = 1; seed <= 20; ++seed) {
      const Row r = make_row(cols, seed * 131 + static_cast<unsigned>(cols));
      told_apart += bits(fused_max_ratio(r)) != bits(scan(r, RowScanPath::scalar).max_ratio);
    }
  EXPECT_GT(told_apart, 20) << "rows on which an fma-contracted scan gives other bits than the scalar path";
}

}  // namespace
}  // namespace smoothcheck::pipeline
