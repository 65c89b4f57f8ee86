// kernels/numerics.h against the hardware and against independent formulations: the conversions
// every backend shares must be exactly F16C's (vcvtph2ps, vcvtps2ph with round-to-nearest-even), so
// that CPU and CUDA codes agree bit for bit.
#include <gtest/gtest.h>
#include <cpuid.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/numerics.h"

namespace smoothcheck::numerics {
namespace {

// CPUID leaf 1, ECX: bit 28 AVX, bit 29 F16C (read directly: clang 14's __builtin_cpu_supports has no
// "f16c").
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 28)) != 0 && (ecx & (1u << 29)) != 0;
}

#define REQUIRE_F16C() \
  if (!cpu_has_f16c()) GTEST_SKIP() << "this CPU has no F16C: nothing to compare numerics.h's f16 conversions with"

__attribute__((target("f16c"))) uint32_t hw_f16_to_float_bits(uint16_t h) {
  __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(h));
  return uint32_t(_mm_cvtsi128_si32(_mm_castps_si128(f)));
}

// Four f32 bit patterns to f16 at once (round to nearest even).
__attribute__((target("f16c"))) void hw_float_to_f16(const uint32_t* in, uint16_t* out) {
  __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
  __m128i h = _mm_cvtps_ph(_mm_castsi128_ps(bits), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  std::memcpy(out, &h, 8);
}

// The f32 patterns where an f16 conversion can go wrong: every f16 value, the f32 ties half-way
// between neighbouring f16 values and their f32 neighbours, the subnormal and overflow thresholds
// swept densely, signalling and quiet NaNs, infinities and zeros, each with both signs.
std::vector<uint32_t> f16_boundary_patterns() {
  std::vector<uint32_t> p;
  for (uint32_t h = 0; h < 0x7c00u; ++h) {
    float lo = f16_to_float(uint16_t(h)), hi = f16_to_float(uint16_t(h + 1));
    float mid = float((double(lo) + double(hi)) / 2);  // exact in f32
    for (uint32_t u : {float_bits(lo), float_bits(mid)})
      for (int d = -2; d <= 2; ++d) p.push_back(u + uint32_t(d));
  }
  for (uint32_t u = 0x477fe000u; u <= 0x47801000u; ++u) p.push_back(u);  // 65504 .. beyond 65520
  for (uint32_t u = 0x387f0000u; u <= 0x38810000u; ++u) p.push_back(u);  // around 2^-14, the smallest normal
  for (uint32_t u = 0x32ff0000u; u <= 0x33810000u; ++u) p.push_back(u);  // around 2^-25 and 2^-24
  for (uint32_t u = 0; u <= 0x10000u; ++u) p.push_back(u);               // f32 zero and subnormals
  for (uint32_t u = 0x7f7f0000u; u <= 0x7f800100u; ++u) p.push_back(u);  // f32 max, inf, signalling NaNs
  for (uint32_t u = 0x7fbfff00u; u <= 0x7fc00100u; ++u) p.push_back(u);  // quiet NaNs
  p.push_back(0x7fffffffu);
  const std::size_t n = p.size();
  for (std::size_t i = 0; i < n; ++i) p.push_back(p[i] | 0x80000000u);
  return p;
}

TEST(NumericsF16, EveryF16PatternMatchesVcvtph2ps) {
  REQUIRE_F16C();
  int mismatches = 0;
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    uint32_t expect = hw_f16_to_float_bits(uint16_t(h));
    uint32_t got = float_bits(f16_to_float(uint16_t(h)));
    if (got != expect && ++mismatches <= 5)
      ADD_FAILURE() << std::hex << "f16 0x" << h << ": numerics 0x" << got << ", F16C 0x" << expect;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(NumericsF16, EveryF16PatternRoundTrips) {
  for (uint32_t h = 0; h <= 0xffffu; ++h) {
    uint16_t back = float_to_f16(f16_to_float(uint16_t(h)));
    bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
    // A NaN comes back quiet (bit 9 set) with its payload; every other value comes back exactly.
    uint16_t expect = nan ? uint16_t(h | 0x200u) : uint16_t(h);
    ASSERT_EQ(back, expect) << std::hex << "f16 0x" << h;
  }
}

void compare_float_to_f16(const std::vector<uint32_t>& patterns, int& mismatches) {
  std::vector<uint32_t> padded(patterns);
  padded.resize((padded.size() + 3) / 4 * 4, 0);
  for (std::size_t i = 0; i < padded.size(); i += 4) {
    uint16_t hw[4];
    hw_float_to_f16(&padded[i], hw);
    for (int l = 0; l < 4; ++l) {
      uint16_t got = float_to_f16(bits_float(padded[i + l]));
      if (got != hw[l] && ++mismatches <= 5)
        ADD_FAILURE() << std::hex << "f32 0x" << padded[i + l] << ": numerics 0x" << got << ", F16C 0x" << hw[l];
    }
  }
}

TEST(NumericsF16, FloatToF16MatchesVcvtps2phOnBoundaries) {
  REQUIRE_F16C();
  std::vector<uint32_t> p = f16_boundary_patterns();
  ASSERT_GT(p.size(), 1000000u);
  int mismatches = 0;
  compare_float_to_f16(p, mismatches);
  EXPECT_EQ(mismatches, 0);
}

TEST(NumericsF16, FloatToF16MatchesVcvtps2phOnRandomPatterns) {
  REQUIRE_F16C();
  std::mt19937 rng(20240601u);
  int mismatches = 0;
  constexpr int kBatches = 16;
  constexpr std::size_t kBatch = 1u << 20;  // 16 Mi random patterns in all
  std::vector<uint32_t> p(kBatch);
  for (int b = 0; b < kBatches; ++b) {
    // Half uniformly random bits, half with exponents inside f16's range, where rounding happens.
    for (std::size_t i = 0; i < kBatch; ++i) {
      uint32_t u = rng();
      if (i & 1) u = (u & 0x807fffffu) | ((100u + (u >> 23) % 48u) << 23);
      p[i] = u;
    }
    compare_float_to_f16(p, mismatches);
  }
  EXPECT_EQ(mismatches, 0);
}

// bf16 by truncation and an explicit comparison of the discarded half with one half-ulp: a
// formulation independent of numerics.h's add-the-bias trick.
uint16_t reference_bf16(uint32_t u) {
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // quiet NaN, as torch
  uint32_t upper = u >> 16, rest = u & 0xffffu;
  if (rest > 0x8000u || (rest == 0x8000u && (upper & 1u))) upper += 1;  // carries into the exponent: inf
  return uint16_t(upper);
}

TEST(NumericsBf16, FloatToBf16MatchesIndependentRounding) {
  std::vector<uint32_t> p;
  for (uint32_t b = 0; b <= 0xffffu; ++b)  // each bf16 value, its ties and neighbours
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) p.push_back((b << 16) | low);
  std::mt19937 rng(7u);
  for (int i = 0; i < (1 << 24); ++i) p.push_back(rng());
  int mismatches = 0;
  for (uint32_t u : p) {
    uint16_t got = float_to_bf16(bits_float(u)), expect = reference_bf16(u);
    if (got != expect && ++mismatches <= 5)
      ADD_FAILURE() << std::hex << "f32 0x" << u << ": numerics 0x" << got << ", reference 0x" << expect;
  }
  EXPECT_EQ(mismatches, 0);
  for (uint32_t b = 0; b <= 0xffffu; ++b) {  // bf16 -> f32 is exact: the bits are the top half
    ASSERT_EQ(float_bits(bf16_to_float(uint16_t(b))), b << 16);
  }
}

TEST(NumericsRounding, RoundWithTiesNanAndHugeValues) {
  struct Row {
    float v, even, away;
  };
  const Row rows[] = {{0.5f, 0.0f, 1.0f},        {1.5f, 2.0f, 2.0f},      {2.5f, 2.0f, 3.0f},
                      {-0.5f, -0.0f, -1.0f},     {-2.5f, -2.0f, -3.0f},   {-3.5f, -4.0f, -4.0f},
                      {0.49999997f, 0.0f, 0.0f}, {126.5f, 126.0f, 127.0f}, {127.5f, 128.0f, 128.0f},
                      {8388609.0f, 8388609.0f, 8388609.0f}, {1e30f, 1e30f, 1e30f}, {-1e30f, -1e30f, -1e30f}};
  for (const Row& r : rows) {
    EXPECT_EQ(float_bits(round_with(r.v, Rounding::half_even)), float_bits(r.even)) << r.v;
    EXPECT_EQ(float_bits(round_with(r.v, Rounding::half_away)), float_bits(r.away)) << r.v;
  }
  EXPECT_TRUE(std::isnan(round_with(NAN, Rounding::half_even)));
  EXPECT_TRUE(std::isnan(round_with(NAN, Rounding::half_away)));
}

TEST(NumericsRounding, StoreInt8SaturatesOrWraps) {
  struct Row {
    float v;
    int sat, wrap;
  };
  const Row rows[] = {{0.0f, 0, 0},          {127.0f, 127, 127},     {128.0f, 127, -128},   {-128.0f, -128, -128},
                      {-129.0f, -128, 127},  {255.0f, 127, -1},      {256.0f, 127, 0},      {300.0f, 127, 44},
                      {-300.0f, -128, -44},  {1e10f, 127, 0},        {-1e10f, -128, 0},     {2147483520.0f, 127, -128},
                      {2147483648.0f, 127, 0}, {-2147483648.0f, -128, 0}, {INFINITY, 127, 0}, {-INFINITY, -128, 0}};
  for (const Row& r : rows) {
    EXPECT_EQ(int(store_int8(r.v, Clamp::saturate)), r.sat) << r.v;
    EXPECT_EQ(int(store_int8(r.v, Clamp::none)), r.wrap) << r.v;
  }
  EXPECT_EQ(int(store_int8(NAN, Clamp::saturate)), 0);     // cvt.rni.sat.s8.f32 of NaN (vLLM)
  EXPECT_EQ(int(store_int8(NAN, Clamp::none)), 0);         // INT32_MIN's low byte
}

TEST(NumericsRowScale, ZeroRowRules) {
  ActQuantOptions vllm;  // zero_scale
  for (float absmax : {0.0f, -0.0f, -1.0f, NAN}) {
    RowScale rs = row_scale_from_absmax(absmax, vllm);
    EXPECT_EQ(rs.scale, 0.0f) << absmax;
    EXPECT_EQ(rs.inv_scale, 0.0f) << absmax;
    EXPECT_EQ(quantize_value(1.0f, rs, vllm), 0);
  }
  ActQuantOptions trt;
  trt.zero_row = ZeroRow::floor;
  trt.absmax_floor = 1e-6f;
  RowScale floored = row_scale_from_absmax(0.0f, trt);
  EXPECT_EQ(floored.scale, 1e-6f / 127.0f);
  EXPECT_EQ(floored.inv_scale, 127.0f / 1e-6f);
  EXPECT_EQ(row_scale_from_absmax(2.0f, trt).scale, 2.0f / 127.0f);  // the floor only lifts tiny rows
  EXPECT_EQ(row_scale_from_absmax(NAN, trt).scale, 1e-6f / 127.0f);  // fmaxf drops the NaN
  trt.absmax_floor = 0.0f;
  EXPECT_EQ(row_scale_from_absmax(0.0f, trt).scale, 0.0f);  // a floor of 0 is still a zero row
  RowScale normal = row_scale_from_absmax(254.0f, vllm);
  EXPECT_EQ(normal.scale, 2.0f);
  EXPECT_EQ(normal.inv_scale, 0.5f);
  EXPECT_EQ(quantize_value(-254.0f, normal, vllm), -127);
  EXPECT_EQ(row_scale_from_scale(0.0f).scale, 0.0f);
  EXPECT_EQ(row_scale_from_scale(-1.0f).inv_scale, 0.0f);
}

}  // namespace
}  // namespace smoothcheck::numerics
