// verify's per-linear weight check (export_checks.h: LinearErrorCheck), whose row scan is a
// division-free form of numerics.md §8's ratio, over rows in any order: it must agree with the formula
// as written, find the worst element, and fail (never silently pass) on a wrong code, a NaN or infinite
// scale, or a zero s, while an all-zero row with a zero scale passes.
#include <cmath>
#include <random>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/pipeline/export_checks.h"

namespace smoothcheck::pipeline {
namespace {

struct Quantized {
  FloatMatrix original;
  at::Tensor q, scale;
  std::vector<float> s, rowdiv;
};

// W = dequant(q) · rowdiv / s plus noise inside the bound (at most `slack` of scale/2), per element.
Quantized make_linear(int64_t rows, int64_t cols, double slack, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0), pos(0.25, 4.0);
  Quantized m;
  m.original = FloatMatrix{rows, cols, std::vector<float>(static_cast<std::size_t>(rows * cols))};
  m.q = at::empty({rows, cols}, at::kChar);
  m.scale = at::empty({rows, 1}, at::kFloat);
  for (int64_t j = 0; j < cols; ++j) m.s.push_back(static_cast<float>(pos(rng)));
  for (int64_t r = 0; r < rows; ++r) m.rowdiv.push_back(static_cast<float>(pos(rng)));
  for (int64_t r = 0; r < rows; ++r) {
    m.scale.data_ptr<float>()[r] = static_cast<float>(0.01 * pos(rng));
    for (int64_t j = 0; j < cols; ++j) {
      const auto code = static_cast<int8_t>(std::lround(127 * u(rng)));
      m.q.data_ptr<int8_t>()[r * cols + j] = code;
      const double step = m.scale.data_ptr<float>()[r] * m.rowdiv[r] / m.s[j];
      m.original.data[r * cols + j] = static_cast<float>(code * step + slack * 0.5 * step * u(rng));
    }
  }
  return m;
}

// The formula of numerics.md §8 as written, element by element.
double exact_max_ratio(const Quantized& m, int64_t* worst_row, int64_t* worst_col) {
  double worst = -1;
  for (int64_t r = 0; r < m.original.rows; ++r)
    for (int64_t j = 0; j < m.original.cols; ++j) {
      const double a = static_cast<double>(m.scale.data_ptr<float>()[r]) * m.rowdiv[r];
      const double deq = m.q.data_ptr<int8_t>()[r * m.original.cols + j] * a / m.s[j];
      const double ratio = std::fabs(m.original.data[r * m.original.cols + j] - deq) / (a / (2.0 * m.s[j]));
      if (ratio > worst) worst = ratio, *worst_row = r, *worst_col = j;
    }
  return worst;
}

// The rows as verify visits them: in blocks, not in order (here the second half first).
LinearCheck check(const Quantized& m) {
  LinearErrorCheck c("lin", m.original, m.q, m.scale, m.s, &m.rowdiv);
  const int64_t half = m.original.rows / 2;
  c.scan_rows(half, m.original.rows);
  c.scan_rows(0, half);
  return c.finish();
}

TEST(LinearCheck, AgreesWithTheFormulaAsWritten) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const Quantized m = make_linear(67, 45, 0.9, seed);
    int64_t r = 0, j = 0;
    const double want = exact_max_ratio(m, &r, &j);
    const LinearCheck c = check(m);
    EXPECT_NEAR(c.max_error_over_bound, want, 1e-9 * want) << "seed " << seed;
    EXPECT_EQ(c.worst_row, r);
    EXPECT_EQ(c.worst_col, j);
    EXPECT_LE(c.max_error_over_bound, 0.9 + 1e-9);
  }
}

TEST(LinearCheck, FindsOneCodeOffByTwoAnywhere) {
  Quantized m = make_linear(50, 33, 0.5, 4);
  int8_t& code = m.q.data_ptr<int8_t>()[41 * 33 + 17];
  code = static_cast<int8_t>(code > 0 ? code - 2 : code + 2);
  const LinearCheck c = check(m);
  EXPECT_GE(c.max_error_over_bound, 3.0);
  EXPECT_EQ(c.worst_row, 41);
  EXPECT_EQ(c.worst_col, 17);
}

TEST(LinearCheck, NonFiniteScaleOrZeroSFails) {
  for (int which = 0; which < 4; ++which) {
    Quantized m = make_linear(20, 16, 0.5, 5);
    if (which == 0) m.scale.data_ptr<float>()[7] = NAN;
    if (which == 1) m.scale.data_ptr<float>()[7] = INFINITY;
    if (which == 2) m.s[3] = NAN;
    if (which == 3) m.s[3] = 0.0f;
    const LinearCheck c = check(m);
    EXPECT_FALSE(c.max_error_over_bound <= 1.0) << "case " << which << ": ratio " << c.max_error_over_bound;
  }
}

TEST(LinearCheck, AllZeroRowWithZeroScalePasses) {
  Quantized m = make_linear(10, 12, 0.5, 6);
  m.scale.data_ptr<float>()[4] = 0.0f;
  for (int64_t j = 0; j < 12; ++j) {
    m.q.data_ptr<int8_t>()[4 * 12 + j] = 0;
    m.original.data[4 * 12 + j] = 0.0f;
  }
  EXPECT_LE(check(m).max_error_over_bound, 0.5 + 1e-9);
  m.original.data[4 * 12 + 5] = 1e-3f;  // a non-zero weight cannot be represented by a zero scale
  EXPECT_EQ(check(m).max_error_over_bound, INFINITY);
}

}  // namespace
}  // namespace smoothcheck::pipeline
