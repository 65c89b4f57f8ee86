#include "harness/exact_input_generators.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "harness/generators.h"

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

std::vector<double> rmsnorm_tie_rows(int64_t rows, int64_t cols, uint64_t seed, DType dtype) {
  if (cols < 40) throw std::invalid_argument("rmsnorm_tie_rows: needs at least 40 columns, got " + std::to_string(cols));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> exponent(-4, 2);
  std::uniform_int_distribution<int> half_k(0, 63);  // |k + 0.5| <= 63.5: exact in bf16 (7 significant bits)
  std::vector<double> out(std::size_t(rows * cols), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> v;
    for (int attempt = 0;; ++attempt) {
      if (attempt > 1000) throw std::runtime_error("rmsnorm_tie_rows: no row found");
      v.assign(std::size_t(cols), 0.0);
      const int64_t ties = cols / 2 - attempt % (cols / 4);  // fewer ties if the squares do not fit
      v[0] = 127.0;
      double sum_squares = 127.0 * 127.0;
      for (int64_t i = 1; i <= ties; ++i) {
        v[std::size_t(i)] = half_k(rng) + 0.5;
        sum_squares += v[std::size_t(i)] * v[std::size_t(i)];
      }
      // The mean square must be a power of four: fill the rest of the row with integers whose squares
      // make up the difference (greedy, each at most 127 so the absmax stays 127). Sums of squares of
      // k + 0.5 are multiples of 1/4, so the remainder is an integer when `ties` is a multiple of 4.
      if (ties % 4 != 0) continue;
      double target = double(cols);
      while (target < sum_squares + 1.0) target *= 4.0;
      double remainder = target - sum_squares;
      int64_t next = ties + 1;
      while (remainder > 0 && next < cols) {
        const double a = std::min(127.0, std::floor(std::sqrt(remainder)));
        v[std::size_t(next++)] = a;
        remainder -= a * a;
      }
      if (remainder == 0) break;
    }
    std::shuffle(v.begin(), v.end(), rng);
    const double unit = std::ldexp(1.0, exponent(rng));
    for (int64_t c = 0; c < cols; ++c) {
      const double value = (rng() & 1 ? -1.0 : 1.0) * v[std::size_t(c)] * unit;
      if (representable(value, dtype) != value) throw std::logic_error("rmsnorm_tie_rows: value not exact in dtype");
      out[std::size_t(r * cols + c)] = value;
    }
  }
  return out;
}

}  // namespace smoothcheck
