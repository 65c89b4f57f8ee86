// numerics.md: where a public implementation stores an intermediate in a narrower float type, the
// reference rounds to that type, correctly (IEEE 754 round to nearest, ties to even), directly from
// float64. Going through float first is double rounding: a double just above an f16 tie rounds to the
// tie in f32 and then to the even neighbour, the wrong one.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

[[noreturn]] void not_a_float_type(DType dtype) {
  throw std::invalid_argument(std::string("smoothcheck::reference::round_to_dtype: ") + to_string(dtype) +
                              " is not a floating-point type");
}

inline FloatFormat format_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return {24, -126, 127};
    case DType::f16: return {11, -14, 15};
    case DType::bf16: return {8, -126, 127};
    default: not_a_float_type(dtype);
  }
}

// 2^k for k within float64's normal range, built from its bits (exact; no libm call).
double power_of_two(int k) {
  const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
  double out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// On the float64's bits, with integers only: value = significand · 2^e exactly (53-bit significand, or
// fewer for a float64 subnormal); the target keeps the significand's bits down to its quantum (the
// spacing 2^(exponent - (precision - 1)) around value, the exponent stopping at emin so that subnormals
// share the smallest normal's spacing: gradual underflow) and rounds the dropped bits to nearest. Every
// step is exact, and no libm call is needed: the reference and verify round hundreds of millions of
// values. A tie (the dropped bits exactly half a quantum) goes to the even neighbour, or, for a value
// known to stand for a slightly larger (tie_side > 0) or smaller (< 0) magnitude, to that side. value
// is finite and not zero.
double round_bits(double value, const FloatFormat& f, int tie_side) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  const bool negative = (bits >> 63) != 0;
  const uint64_t magnitude = bits & ~(uint64_t(1) << 63);
  const int biased = static_cast<int>(magnitude >> 52);
  uint64_t significand = 0;
  int e = 0;     // value = significand · 2^e
  int lead = 0;  // the exponent of the leading bit: 2^lead <= |value| < 2^(lead + 1)
  if (biased == 0) {  // a float64 subnormal
    significand = magnitude;
    e = -1074;
    lead = 63 - __builtin_clzll(magnitude) - 1074;
  } else {
    significand = (magnitude & ((uint64_t(1) << 52) - 1)) | (uint64_t(1) << 52);
    e = biased - 1075;
    lead = biased - 1023;
  }
  const int quantum = std::max(lead, f.emin) - (f.precision - 1);
  const int dropped = quantum - e;  // low bits of the significand below the target's quantum
  double rounded = 0;
  if (dropped <= 0) {
    rounded = std::fabs(value);  // already a multiple of the quantum
  } else if (dropped <= 54) {
    // dropped <= 54 keeps the half bit inside 64 bits; the significand has at most 53.
    const uint64_t kept = significand >> dropped;
    const uint64_t rest = significand & ((uint64_t(1) << dropped) - 1);
    const uint64_t half = uint64_t(1) << (dropped - 1);
    const bool up = rest > half || (rest == half && (tie_side != 0 ? tie_side > 0 : (kept & 1) != 0));
    const uint64_t quanta = kept + (up ? 1 : 0);
    // quanta < 2^(precision + 1) and the quantum within float64's normal range: an exact product (a
    // carry into the next binade included).
    rounded = static_cast<double>(quanta) * power_of_two(quantum);
  }  // else |value| < 2^(e + 53) <= 2^(quantum - 2): under half a quantum, so zero
  const double largest = (2.0 - power_of_two(1 - f.precision)) * power_of_two(f.emax);
  if (rounded > largest) rounded = std::numeric_limits<double>::infinity();
  return negative ? -rounded : rounded;  // a negative value that underflows is -0, as in IEEE
}

}  // namespace

// IEEE 754's round to nearest, ties to even, of the float64 itself.
double round_to_dtype(double value, DType dtype) {
  if (dtype == DType::f64) return value;
  const FloatFormat f = format_of(dtype);
  if (std::isnan(value) || std::isinf(value) || value == 0.0) return value;
  return round_bits(value, f, 0);
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
// rounding boundaries (midpoints, the overflow threshold among them) are float64 numbers, so the exact
// value can round differently from x only when x itself is a boundary, a tie of round_bits; the
// residual's sign then says on which side of it the exact value lies.
double round_with_residual(double x, double residual, DType dtype) {
  // float64 itself: x already is the correctly rounded exact value. x = 0: |exact| < 2^-1074, which
  // every dtype rounds to zero, of x's sign (as the float64 nearest it).
  if (dtype == DType::f64 || residual == 0.0 || !std::isfinite(x) || x == 0.0) return round_to_dtype(x, dtype);
  return round_bits(x, format_of(dtype), (residual > 0) == (x > 0) ? 1 : -1);
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
  const double in_f32 = round_quotient_to_dtype(a, b, DType::f32);
  return t == DType::f32 ? in_f32 : round_to_dtype(in_f32, t);  // an f32 is its own f32 rounding
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
