#include "harness/differential/exact_input_generators.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>

#include "harness/differential/generators.h"

namespace smoothcheck {
namespace {

// f32 arithmetic from float64: x / y and x * y of f32 operands computed in float64 and rounded to f32
// are the correctly rounded f32 results (53 >= 2 * 24 + 2: the double rounding is innocuous, Figueroa
// 1995), whatever FMA contraction or excess precision the compiler might apply to float expressions.
double f32_quotient(double x, double y) { return double(float(x / y)); }
double f32_product(double x, double y) { return double(float(x * y)); }

double integer_of(double v, Rounding r) { return r == Rounding::half_even ? std::nearbyint(v) : std::round(v); }

}  // namespace

bool scale_math_splits(double x, double scale, double reciprocal, Rounding rounding) {
  return integer_of(f32_quotient(x, scale), rounding) != integer_of(f32_product(x, reciprocal), rounding);
}

std::vector<double> scale_math_split_values(double scale, double reciprocal, double limit, int64_t count,
                                            uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Midpoints k + 0.5 whose neighbourhood stays within the limit (the row absmax must not move).
  const int k_max = int(std::min(125.0, std::floor(limit / scale) - 2.0));
  if (k_max < 1) throw std::invalid_argument("scale_math_split_values: limit leaves no midpoint below it");
  std::uniform_int_distribution<int> k_of(0, k_max);
  std::vector<double> out;
  out.reserve(std::size_t(count));
  for (int attempt = 0; int64_t(out.size()) < count; ++attempt) {
    // Some (scale, reciprocal) pairs agree to far below an ulp (their roundings cancel): give up, the
    // caller draws another scale.
    if (attempt > 200 * (count + 1)) break;
    const double sign = rng() & 1 ? -1.0 : 1.0;
    // The f32 values around (k + 0.5) * scale, a few ulps either side: where the two results straddle.
    float x = float(sign * (k_of(rng) + 0.5) * scale);
    for (int step = 0; step < 8; ++step) x = std::nextafter(x, 0.0f);
    for (int step = 0; step < 16; ++step, x = std::nextafter(x, float(sign * INFINITY))) {
      if (std::fabs(double(x)) > limit) break;
      if (scale_math_splits(x, scale, reciprocal, Rounding::half_even) &&
          scale_math_splits(x, scale, reciprocal, Rounding::half_away)) {
        out.push_back(double(x));
        break;
      }
    }
  }
  return out;
}

namespace {

// One row of units (the values before the row's power-of-two unit) whose mean square is a power of four:
// absmax_units once, `ties` values from half_value (k + 0.5, at most absmax_units), and integers at most
// absmax_units whose squares make up the difference, zeros after; shuffled. Then RMSNorm with eps 0 is
// exact in f32: every partial sum of squares is a multiple of 1/4 far below 2^22, the mean is a power of
// four, its square root and reciprocal powers of two.
std::vector<double> exact_rms_row(int64_t cols, int absmax_units, const std::function<double()>& half_value,
                                  std::mt19937_64& rng) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::vector<double> v(std::size_t(cols), 0.0);
    const int64_t ties = (cols / 2 - attempt % (cols / 4)) / 4 * 4;  // fewer ties if the squares do not fit
    v[0] = absmax_units;
    double sum_squares = double(absmax_units) * absmax_units;
    for (int64_t i = 1; i <= ties; ++i) {
      v[std::size_t(i)] = half_value();
      sum_squares += v[std::size_t(i)] * v[std::size_t(i)];
    }
    // Squares of k + 0.5 are k^2 + k + 1/4: with `ties` a multiple of 4 the remainder is an integer.
    double target = double(cols);
    while (target < sum_squares + 1.0) target *= 4.0;
    double remainder = target - sum_squares;
    int64_t next = ties + 1;
    while (remainder > 0 && next < cols) {
      const double a = std::min(double(absmax_units), std::floor(std::sqrt(remainder)));
      v[std::size_t(next++)] = a;
      remainder -= a * a;
    }
    if (remainder != 0) continue;
    std::shuffle(v.begin(), v.end(), rng);
    return v;
  }
  throw std::runtime_error("exact_rms_row: no row found");
}

// Signs, the row's power-of-two unit, and the check that every value is exact in dtype.
void store_row(const std::vector<double>& units, int64_t r, DType dtype, std::mt19937_64& rng, std::vector<double>& out) {
  std::uniform_int_distribution<int> exponent(-4, 2);
  const double unit = std::ldexp(1.0, exponent(rng));
  const int64_t cols = int64_t(units.size());
  for (int64_t c = 0; c < cols; ++c) {
    const double value = (rng() & 1 ? -1.0 : 1.0) * units[std::size_t(c)] * unit;
    if (representable(value, dtype) != value) throw std::logic_error("exact_input_generators: value not exact in dtype");
    out[std::size_t(r * cols + c)] = value;
  }
}

}  // namespace

std::vector<double> rmsnorm_tie_rows(int64_t rows, int64_t cols, uint64_t seed, DType dtype) {
  if (cols < 40) throw std::invalid_argument("rmsnorm_tie_rows: needs at least 40 columns, got " + std::to_string(cols));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> half_k(0, 63);  // |k + 0.5| <= 63.5: exact in bf16 (7 significant bits)
  std::vector<double> out(std::size_t(rows * cols), 0.0);
  // Absmax 127 units: the scale is the row's unit exactly and y / scale = k + 0.5 exactly.
  for (int64_t r = 0; r < rows; ++r)
    store_row(exact_rms_row(cols, 127, [&] { return half_k(rng) + 0.5; }, rng), r, dtype, rng, out);
  return out;
}

std::vector<double> rmsnorm_scale_math_rows(int64_t rows, int64_t cols, uint64_t seed, DType dtype) {
  if (cols < 40) throw std::invalid_argument("rmsnorm_scale_math_rows: needs at least 40 columns, got " + std::to_string(cols));
  std::mt19937_64 rng(seed);
  // Odd absmaxes A below 127 whose tie A / 2 (exactly 63.5 after y * 127 / A) the two f32 formulas put on
  // different sides under both roundings. Scaling by the row's power-of-two unit changes neither result.
  std::vector<int> splitting;
  for (int a = 65; a < 127; a += 2)
    if (scale_math_splits(a / 2.0, double(float(a / 127.0)), double(float(127.0 / a)), Rounding::half_even) &&
        scale_math_splits(a / 2.0, double(float(a / 127.0)), double(float(127.0 / a)), Rounding::half_away))
      splitting.push_back(a);
  if (splitting.empty()) throw std::logic_error("rmsnorm_scale_math_rows: no absmax splits the two formulas");
  std::uniform_int_distribution<std::size_t> pick(0, splitting.size() - 1);
  std::vector<double> out(std::size_t(rows * cols), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const int a = splitting[pick(rng)];
    store_row(exact_rms_row(cols, a, [&] { return a / 2.0; }, rng), r, dtype, rng, out);
  }
  return out;
}

}  // namespace smoothcheck
