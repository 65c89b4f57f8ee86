// numerics.md: where a public implementation stores an intermediate in a narrower float type, the
// reference rounds to that type, correctly (IEEE 754 round to nearest, ties to even), directly from
// float64. Going through float first is double rounding: a double just above an f16 tie rounds to the
// tie in f32 and then to the even neighbour, the wrong one.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"

namespace smoothcheck::reference {
namespace {

struct FloatFormat {
  int precision;  // significand bits, the implicit bit included
  int emin;       // exponent of the smallest normal, 2^emin
  int emax;       // exponent of the largest finite binade
};

FloatFormat format_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return {24, -126, 127};
    case DType::f16: return {11, -14, 15};
    case DType::bf16: return {8, -126, 127};
    default: break;
  }
  throw std::invalid_argument(std::string("smoothcheck::reference::round_to_dtype: ") + to_string(dtype) +
                              " is not a floating-point type");
}

}  // namespace

double round_to_dtype(double value, DType dtype) {
  if (dtype == DType::f64) return value;
  const FloatFormat f = format_of(dtype);
  if (std::isnan(value) || std::isinf(value) || value == 0.0) return value;

  const double magnitude = std::fabs(value);
  int e = 0;
  std::frexp(magnitude, &e);  // magnitude = m * 2^e, m in [0.5, 1)
  // The spacing of the target type around magnitude: 2^(exponent - (precision - 1)), where the
  // exponent stops at emin so that subnormals share the smallest normal's spacing (gradual underflow).
  const int exponent = std::max(e - 1, f.emin);
  const int quantum = exponent - (f.precision - 1);
  // Scaling by a power of two is exact, so nearbyint sees the exact number of quanta; under the
  // default rounding mode it rounds half to even, the IEEE default every implementation uses.
  const double quanta = std::nearbyint(std::ldexp(magnitude, -quantum));
  double rounded = std::ldexp(quanta, quantum);  // a carry into the next binade is still exact

  const double largest = std::ldexp(2.0 - std::ldexp(1.0, 1 - f.precision), f.emax);
  if (rounded > largest) rounded = std::numeric_limits<double>::infinity();
  return std::copysign(rounded, value);  // a negative value that underflows is -0, as in IEEE
}

double ulp_of(double x, DType dtype) {
  const FloatFormat f = format_of(dtype);
  int e = 0;
  std::frexp(x, &e);  // |x| = m · 2^e, m in [0.5, 1)
  return std::ldexp(1.0, std::max(e - 1, f.emin) - (f.precision - 1));
}

namespace internal {
namespace {

// x is the float64 nearest the exact value x + residual, |residual| <= half an ulp of x. The dtype's
// rounding boundaries (midpoints and the overflow threshold) are float64 numbers, so the exact value
// can round differently from x only when x itself is a boundary; then the residual's sign decides,
// which the neighbouring float64 on that side reproduces.
double round_with_residual(double x, double residual, DType dtype) {
  // float64 itself: x already is the correctly rounded exact value.
  if (dtype == DType::f64 || residual == 0.0 || !std::isfinite(x)) return round_to_dtype(x, dtype);
  const double inf = std::numeric_limits<double>::infinity();
  const double toward = std::nextafter(x, residual > 0 ? inf : -inf);
  const double away = std::nextafter(x, residual > 0 ? -inf : inf);
  const double rounded_toward = round_to_dtype(toward, dtype);
  const bool x_is_boundary = rounded_toward != round_to_dtype(away, dtype);
  return x_is_boundary ? rounded_toward : round_to_dtype(x, dtype);
}

}  // namespace

// The fma residuals are exact unless they underflow below float64's subnormals, far outside the
// magnitudes of weights, activations and scales.
double round_product_to_dtype(double a, double b, DType dtype) {
  const double p = a * b;
  return round_with_residual(p, std::fma(a, b, -p), dtype);
}

double round_quotient_to_dtype(double a, double b, DType dtype) {
  const double q = a / b;
  // An infinite or NaN operand: the quotient is exact (0, ±inf or NaN), and fma would make a NaN residual.
  if (!std::isfinite(q) || !std::isfinite(b)) return round_to_dtype(q, dtype);
  // a - q*b exactly; the exact quotient is q + r/b, so its side of q is the sign of r/b.
  const double r = std::fma(-q, b, a);
  return round_with_residual(q, b > 0 ? r : -r, dtype);
}

double round_via_f32(double exact, DType t) { return round_to_dtype(round_to_dtype(exact, DType::f32), t); }
double quotient_via_f32(double a, double b, DType t) {
  return round_to_dtype(round_quotient_to_dtype(a, b, DType::f32), t);
}

double round_sum_to_dtype(double a, double b, DType dtype) {
  const double s = a + b;
  if (!std::isfinite(s)) return round_to_dtype(s, dtype);
  // Knuth's TwoSum: a + b = s + e exactly (no branch on the magnitudes, no overflow for finite s).
  const double bv = s - a;
  const double e = (a - (s - bv)) + (b - bv);
  return round_with_residual(s, e, dtype);
}

}  // namespace internal
}  // namespace smoothcheck::reference
