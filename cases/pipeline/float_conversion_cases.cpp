// The pipeline's conversions between stored floats and float32 (harness/pipeline/float_conversion.h):
// the scalar loops against LibTorch's own conversions (what the pipeline used before) on every f16 and
// bf16 value, and the AVX2 loops against the scalar ones bit for bit on every 16-bit pattern (NaNs
// included), on inputs that start at odd addresses and on every tail length.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/pipeline/float_conversion.h"
#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::pipeline {
namespace {

std::vector<uint16_t> every_pattern() {
  std::vector<uint16_t> v(65536);
  for (uint32_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(i);
  return v;
}

bool is_nan16(uint16_t h, DType t) {
  return t == DType::f16 ? (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0 : (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
}

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

// The stored bytes copied to an odd address: the mapping promises no alignment.
struct Unaligned {
  std::vector<unsigned char> buffer;
  const unsigned char* data() const { return buffer.data() + 1; }
  unsigned char* data() { return buffer.data() + 1; }
  explicit Unaligned(std::size_t bytes) : buffer(bytes + 1) {}
};

void skip_without_avx2() {
  if (!kernels::cpu_supports_avx2()) GTEST_SKIP() << "this CPU lacks AVX2/FMA/F16C: only the scalar loops run here";
}

class HalfDtype : public ::testing::TestWithParam<DType> {};

TEST_P(HalfDtype, ScalarWideningIsLibTorchsOnEveryValue) {
  const DType t = GetParam();
  const std::vector<uint16_t> patterns = every_pattern();
  std::vector<float> ours(patterns.size());
  widen_to_f32_scalar(patterns.data(), t, patterns.size(), ours.data());
  const at::Tensor stored = at::from_blob(const_cast<uint16_t*>(patterns.data()), {65536},
                                          t == DType::f16 ? at::kHalf : at::kBFloat16);
  const at::Tensor theirs = stored.to(at::kFloat).contiguous();
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const float want = theirs.data_ptr<float>()[i];
    if (is_nan16(patterns[i], t)) {
      EXPECT_TRUE(std::isnan(ours[i])) << std::hex << patterns[i];
      continue;
    }
    uint32_t a, b;
    std::memcpy(&a, &ours[i], 4);
    std::memcpy(&b, &want, 4);
    ASSERT_EQ(a, b) << "pattern 0x" << std::hex << patterns[i];
  }
}

TEST_P(HalfDtype, ScalarNarrowingIsLibTorchsOnEveryValueAndOnRoundings) {
  const DType t = GetParam();
  // Every value of the dtype (exact), then random f32 patterns: roundings, ties, subnormals, overflow.
  std::vector<float> values(65536);
  const std::vector<uint16_t> patterns = every_pattern();
  widen_to_f32_scalar(patterns.data(), t, patterns.size(), values.data());
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t u = rng();
    float f;
    std::memcpy(&f, &u, 4);
    values.push_back(f);
  }
  std::vector<uint16_t> ours(values.size());
  narrow_from_f32_scalar(values.data(), values.size(), t, ours.data());
  const at::Tensor theirs = at::from_blob(values.data(), {static_cast<int64_t>(values.size())}, at::kFloat)
                                .to(t == DType::f16 ? at::kHalf : at::kBFloat16)
                                .contiguous();
  const auto* want = static_cast<const uint16_t*>(theirs.data_ptr());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      EXPECT_TRUE(is_nan16(ours[i], t)) << i;
      continue;
    }
    ASSERT_EQ(ours[i], want[i]) << "value " << values[i] << " (index " << i << ")";
  }
}

TEST_P(HalfDtype, Avx2WideningIsTheScalarsOnEveryPattern) {
  skip_without_avx2();
  const DType t = GetParam();
  const std::vector<uint16_t> patterns = every_pattern();
  Unaligned stored(patterns.size() * 2);
  std::memcpy(stored.data(), patterns.data(), patterns.size() * 2);
  // Every tail length: n = 65536 - k for k = 0..8 (the body then ends short of the end).
  for (std::size_t k = 0; k <= 8; ++k) {
    const std::size_t n = patterns.size() - k;
    std::vector<float> fast(n), slow(n);
    widen_to_f32_avx2(stored.data(), t, n, fast.data());
    widen_to_f32_scalar(stored.data(), t, n, slow.data());
    ASSERT_EQ(bits_of(fast), bits_of(slow)) << "n = " << n;
  }
}

TEST_P(HalfDtype, Avx2NarrowingIsTheScalarsOnEveryPatternAndOnRoundings) {
  skip_without_avx2();
  const DType t = GetParam();
  std::vector<float> values;
  std::mt19937 rng(12);
  // Every f32 pattern whose low 13 bits are 0x1000 (f16 ties) or low 16 are 0x8000 (bf16 ties) in a
  // spread of exponents, every f32 subnormal-adjacent and overflow-adjacent pattern around both
  // dtypes' ranges, and random patterns (NaNs among them).
  for (uint32_t hi = 0; hi < 0x10000; hi += 7) {
    for (uint32_t low : {0x0000u, 0x1000u, 0x8000u, 0x7fffu, 0x8001u, 0x0fffu, 0x1001u}) {
      const uint32_t u = (hi << 16) | low;
      float f;
      std::memcpy(&f, &u, 4);
      values.push_back(f);
    }
  }
  for (int i = 0; i < 200000; ++i) {
    const uint32_t u = rng();
    float f;
    std::memcpy(&f, &u, 4);
    values.push_back(f);
  }
  for (std::size_t k = 0; k <= 8; ++k) {
    const std::size_t n = values.size() - k;
    Unaligned fast(n * 2), slow(n * 2);
    narrow_from_f32_avx2(values.data(), n, t, fast.data());
    narrow_from_f32_scalar(values.data(), n, t, slow.data());
    ASSERT_EQ(std::memcmp(fast.data(), slow.data(), n * 2), 0) << "n = " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(StoredDtypes, HalfDtype, ::testing::Values(DType::f16, DType::bf16),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(to_string(i.param)); });

TEST(FloatConversion, F32IsACopyAndOtherDtypesAreRefused) {
  const std::vector<float> values = {1.5f, -0.0f, 3e38f, 1e-45f};
  Unaligned stored(values.size() * 4);
  std::memcpy(stored.data(), values.data(), values.size() * 4);
  std::vector<float> back(values.size());
  widen_to_f32(stored.data(), DType::f32, values.size(), back.data());
  EXPECT_EQ(bits_of(back), bits_of(values));
  Unaligned narrowed(values.size() * 4);
  narrow_from_f32(values.data(), values.size(), DType::f32, narrowed.data());
  EXPECT_EQ(std::memcmp(narrowed.data(), values.data(), values.size() * 4), 0);
  EXPECT_THROW(widen_to_f32(stored.data(), DType::i8, 1, back.data()), std::invalid_argument);
  EXPECT_THROW(narrow_from_f32(values.data(), 1, DType::f64, narrowed.data()), std::invalid_argument);
}

}  // namespace
}  // namespace smoothcheck::pipeline
