// round_to_dtype against checks that share none of its code: every f16 and bf16 bit pattern decoded
// by hand, the midpoints between neighbours, and random doubles rounded by a search over the table of
// all values (f16, bf16) or by the hardware's double -> float conversion (f32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <vector>

#include "reference/reference.h"

namespace smoothcheck::reference {
namespace {

struct Format16 {
  DType dtype;
  int fraction_bits;  // 10 (f16) or 7 (bf16)
  int bias;           // 15 or 127
};
void PrintTo(const Format16& f, std::ostream* os) { *os << to_string(f.dtype); }
const Format16 f16{DType::f16, 10, 15};
const Format16 bf16{DType::bf16, 7, 127};

// The value of a 16-bit pattern, straight from the IEEE layout.
double decode(uint16_t bits, const Format16& f) {
  const int exponent_bits = 15 - f.fraction_bits;
  const uint32_t fraction = bits & ((1u << f.fraction_bits) - 1);
  const uint32_t exponent = (bits >> f.fraction_bits) & ((1u << exponent_bits) - 1);
  const double sign = (bits & 0x8000u) ? -1.0 : 1.0;
  if (exponent == (1u << exponent_bits) - 1)
    return fraction ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  if (exponent == 0) return sign * std::ldexp(fraction, 1 - f.bias - f.fraction_bits);
  return sign * std::ldexp(fraction + (1u << f.fraction_bits), int(exponent) - f.bias - f.fraction_bits);
}

// The non-negative values in increasing order, indexed by bit pattern 0 .. infinity's pattern, with
// infinity's slot holding 2^(emax + 1): the value it would have with an unbounded exponent, which is
// exactly what IEEE rounding compares against to decide overflow.
std::vector<double> non_negative_table(const Format16& f) {
  const auto inf_bits = static_cast<uint16_t>(((1u << (15 - f.fraction_bits)) - 1) << f.fraction_bits);
  std::vector<double> table;
  for (uint32_t b = 0; b < inf_bits; ++b) table.push_back(decode(static_cast<uint16_t>(b), f));
  table.push_back(std::ldexp(1.0, f.bias + 1));
  return table;
}

// Nearest table entry, ties to the even bit pattern; the last entry means infinity.
double nearest_by_search(double value, const std::vector<double>& table) {
  const double magnitude = std::fabs(value);
  double result;
  if (magnitude >= table.back()) {
    result = std::numeric_limits<double>::infinity();
  } else {
    const auto hi = static_cast<std::size_t>(std::upper_bound(table.begin(), table.end(), magnitude) - table.begin());
    const std::size_t lo = hi - 1;  // table[lo] <= magnitude < table[hi]
    const double below = magnitude - table[lo], above = table[hi] - magnitude;
    const std::size_t pick = below < above ? lo : above < below ? hi : (lo % 2 == 0 ? lo : hi);
    result = pick == table.size() - 1 ? std::numeric_limits<double>::infinity() : table[pick];
  }
  return std::copysign(result, value);
}

// A double with a uniformly random exponent in [low, high] and random significand and sign.
double random_double(std::mt19937_64& rng, int low, int high) {
  const double significand = 1.0 + std::ldexp(static_cast<double>(rng() >> 12), -52);
  const int exponent = std::uniform_int_distribution<int>(low, high)(rng);
  return (rng() & 1 ? -1.0 : 1.0) * std::ldexp(significand, exponent);
}

class Exhaustive16 : public ::testing::TestWithParam<Format16> {};

TEST_P(Exhaustive16, EveryValueRoundsToItself) {
  const Format16 f = GetParam();
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const double v = decode(static_cast<uint16_t>(b), f);
    const double r = round_to_dtype(v, f.dtype);
    if (std::isnan(v)) {
      ASSERT_TRUE(std::isnan(r)) << "bits " << b;
    } else {
      ASSERT_EQ(r, v) << "bits " << b;
      ASSERT_EQ(std::signbit(r), std::signbit(v)) << "bits " << b;
    }
  }
}

TEST_P(Exhaustive16, EveryMidpointGoesToTheEvenNeighbourAndItsNeighboursToTheNearer) {
  const Format16 f = GetParam();
  const std::vector<double> table = non_negative_table(f);
  const double inf = std::numeric_limits<double>::infinity();
  auto value_at = [&](std::size_t i) { return i == table.size() - 1 ? inf : table[i]; };
  for (std::size_t i = 0; i + 1 < table.size(); ++i) {
    const double mid = (table[i] + table[i + 1]) / 2;  // exact in float64
    const double even = value_at(i % 2 == 0 ? i : i + 1);
    for (double sign : {1.0, -1.0}) {
      ASSERT_EQ(round_to_dtype(sign * mid, f.dtype), sign * even) << "midpoint after index " << i;
      ASSERT_EQ(round_to_dtype(sign * std::nextafter(mid, 0.0), f.dtype), sign * value_at(i)) << i;
      ASSERT_EQ(round_to_dtype(sign * std::nextafter(mid, inf), f.dtype), sign * value_at(i + 1)) << i;
    }
  }
}

TEST_P(Exhaustive16, RandomDoublesMatchATableSearch) {
  const Format16 f = GetParam();
  const std::vector<double> table = non_negative_table(f);
  std::mt19937_64 rng(20240601);
  const int smallest = 1 - f.bias - f.fraction_bits;  // exponent of the smallest subnormal
  for (int i = 0; i < 300000; ++i) {
    const double v = random_double(rng, smallest - 3, f.bias + 2);
    ASSERT_EQ(round_to_dtype(v, f.dtype), nearest_by_search(v, table)) << std::hexfloat << v;
  }
}

INSTANTIATE_TEST_SUITE_P(RoundToDtype, Exhaustive16, ::testing::Values(f16, bf16),
                         [](const auto& info) { return std::string(to_string(info.param.dtype)); });

TEST(RoundToDtypeF32, RandomDoublesMatchTheHardwareConversion) {
  // x86's cvtsd2ss rounds to nearest even, with subnormals (no flush-to-zero in this build).
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300000; ++i) {
    const double v = random_double(rng, -152, 129);
    ASSERT_EQ(round_to_dtype(v, DType::f32), static_cast<double>(static_cast<float>(v))) << std::hexfloat << v;
  }
}

}  // namespace
}  // namespace smoothcheck::reference
