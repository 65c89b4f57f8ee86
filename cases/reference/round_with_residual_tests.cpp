// The correctly rounded product, quotient and sum of the reference (reference/internal.h) against a
// rounding that shares no code with round_bits: the dtype neighbours of the float64 result found by
// scaling with its ulp (ulp_of, floor), and the residual deciding only where the float64 result is
// exactly their midpoint. The hard cases are built on purpose: a float64 sum that lands exactly on a
// dtype midpoint (the overflow threshold and the subnormal range included) while the exact sum lies
// just above or below, and one a float64 ulp inside a midpoint, which the reference's earlier rule (the
// two neighbouring float64s rounding apart) took for a midpoint and rounded the wrong way.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>

#include "reference/internal.h"
#include "reference/reference.h"

namespace smoothcheck::reference {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

struct Format {
  DType dtype;
  int precision, emin, emax;
};
const Format kFormats[] = {{DType::f32, 24, -126, 127}, {DType::f16, 11, -14, 15}, {DType::bf16, 8, -126, 127}};

const Format& format_of(DType dtype) {
  for (const Format& f : kFormats)
    if (f.dtype == dtype) return f;
  throw std::invalid_argument("not a narrow float type");
}

// x the float64 nearest the exact value x + residual. Its dtype neighbours lo <= |x| < lo + q (q the
// dtype's spacing there, a power of two, so every step is exact); only a midpoint between them lets the
// residual decide, and then the exact value's side of it does.
double by_neighbours(double x, double residual, DType dtype) {
  if (dtype == DType::f64 || residual == 0.0 || !std::isfinite(x) || x == 0.0) return round_to_dtype(x, dtype);
  const double q = ulp_of(std::fabs(x), dtype);
  const double lo = std::floor(std::fabs(x) / q) * q;
  if (std::fabs(x) - lo != q / 2) return round_to_dtype(x, dtype);
  const Format& f = format_of(dtype);
  const bool larger = (residual > 0) == (x > 0);
  double magnitude = larger ? lo + q : lo;
  if (magnitude > std::ldexp(2.0 - std::ldexp(1.0, 1 - f.precision), f.emax)) magnitude = kInf;
  return std::copysign(magnitude, x);
}

bool same(double a, double b) { return (a == b && std::signbit(a) == std::signbit(b)) || (std::isnan(a) && std::isnan(b)); }

TEST(RoundWithResidual, AMidpointGoesToTheExactValuesSide) {
  std::mt19937_64 rng(3);
  int64_t checked = 0;
  for (const Format& f : kFormats) {
    for (int i = 0; i < 20000; ++i) {
      // A midpoint between two neighbours of the dtype: (2k + 1) half quanta, in a random binade from the
      // subnormals to the overflow threshold (k at the top of the last binade: the threshold itself).
      const int binade = f.emin - 1 + int(rng() % uint64_t(f.emax - f.emin + 2));
      const int quantum = std::max(binade, f.emin) - (f.precision - 1);
      const uint64_t span = uint64_t(1) << (f.precision - 1);
      const uint64_t k = (i % 50 == 0) ? 2 * span - 1 : (binade < f.emin ? rng() % span : span + rng() % span);
      const double midpoint = std::ldexp(double(2 * k + 1), quantum - 1);
      const double tiny = std::ldexp(1.0, quantum - 60) * ((rng() & 1) ? 1 : -1);
      for (double sign : {1.0, -1.0}) {
        const double a = sign * midpoint, b = sign * tiny;
        ASSERT_EQ(a + b, a);  // the float64 sum is the midpoint; only the residual knows the side
        const double got = internal::round_sum_to_dtype(a, b, f.dtype);
        ASSERT_TRUE(same(got, by_neighbours(a, b, f.dtype))) << to_string(f.dtype) << std::hexfloat << " " << a << " + " << b;
        // ... and the side is the exact value's: away from the midpoint, toward b.
        ASSERT_EQ(std::fabs(got) > std::fabs(a), b * sign > 0) << to_string(f.dtype) << std::hexfloat << " " << a;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 * 20000 * 2);
}

// The float64 sum is one float64 ulp inside an f32 midpoint (toward zero), the exact sum between it and
// the midpoint: it rounds as the float64 sum does, toward zero, not to the midpoint's even neighbour.
TEST(RoundWithResidual, ANeighbourOfAMidpointIsNotAMidpoint) {
  const double a = -0x1.7ca40fp+19, b = 0x1.43ap-34;  // a is an f32 midpoint; b is 0.63 float64 ulps of a
  ASSERT_EQ(a + b, a + 0x1p-33);
  EXPECT_EQ(internal::round_sum_to_dtype(a, b, DType::f32), -0x1.7ca40ep+19);
}

TEST(RoundWithResidual, ProductsQuotientsAndSumsAgreeWithTheNeighbours) {
  std::mt19937_64 rng(5);
  const auto random_value = [&rng]() {
    // Short significands make exact products and ties common; long ones make residuals.
    const int bits = 1 + int(rng() % 53);
    const double significand = double((rng() >> (64 - bits)) | 1);
    return std::ldexp(significand, int(rng() % 120) - 60 - bits) * ((rng() & 1) ? 1 : -1);
  };
  for (int i = 0; i < 200000; ++i) {
    const double a = random_value(), b = random_value();
    for (const Format& f : kFormats) {
      const double p = a * b, q = a / b, s = a + b;
      ASSERT_TRUE(same(internal::round_product_to_dtype(a, b, f.dtype), by_neighbours(p, std::fma(a, b, -p), f.dtype)))
          << to_string(f.dtype) << std::hexfloat << " " << a << " * " << b;
      const double r = std::fma(-q, b, a);
      ASSERT_TRUE(same(internal::round_quotient_to_dtype(a, b, f.dtype), by_neighbours(q, b > 0 ? r : -r, f.dtype)))
          << to_string(f.dtype) << std::hexfloat << " " << a << " / " << b;
      const double bv = s - a, e = (a - (s - bv)) + (b - bv);
      ASSERT_TRUE(same(internal::round_sum_to_dtype(a, b, f.dtype), by_neighbours(s, e, f.dtype)))
          << to_string(f.dtype) << std::hexfloat << " " << a << " + " << b << ": " << internal::round_sum_to_dtype(a, b, f.dtype)
          << " against " << by_neighbours(s, e, f.dtype);
    }
  }
}

}  // namespace
}  // namespace smoothcheck::reference
