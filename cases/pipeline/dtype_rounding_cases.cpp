// round_each_to (harness/pipeline/dtype_rounding.h), the smoothing step's rounding to the model's dtype,
// against numerics::round_to value by value: ties to even at both dtypes' midpoints, subnormals,
// overflow to infinity, NaN and infinities, and lengths that leave a tail after the eight-wide lanes.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "harness/pipeline/dtype_rounding.h"
#include "kernels/numerics.h"

namespace smoothcheck::pipeline {
namespace {

uint32_t bits_of(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

std::vector<float> awkward_values() {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f,
                          1.0f + 0x1.0p-11f,             // f16 midpoint between 1 and its successor: to 1
                          1.0f + 3 * 0x1.0p-11f,         // the next midpoint: up, to even
                          1.0f + 0x1.0p-8f,              // bf16 midpoint
                          1.0f + 0x1.0p-8f + 0x1.0p-23f, // just above it
                          65504.0f, 65519.0f, 65520.0f,  // f16 largest, below and at its overflow threshold
                          0x1.0p-24f, 0x1.8p-25f, 0x1.0p-25f,  // f16's smallest subnormal, a tie above and at half
                          0x1.0p-130f, 3.0e38f, std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> any_bits;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t b = any_bits(rng);
    float f;
    std::memcpy(&f, &b, sizeof f);
    v.push_back(f);
  }
  return v;
}

TEST(RoundEachTo, IsNumericsRoundToValueByValue) {
  for (const DType t : {DType::f16, DType::bf16, DType::f32})
    for (const std::size_t n : {std::size_t(0), std::size_t(5), std::size_t(8), std::size_t(21), std::size_t(1021)}) {
      std::vector<float> values = awkward_values();
      values.resize(std::min(n, values.size()));
      const std::vector<float> before = values;
      round_each_to(values.data(), values.size(), t);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const float want = numerics::round_to(before[i], t);
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(values[i])) << to_string(t) << " [" << i << "] of " << n;
        } else {
          EXPECT_EQ(bits_of(values[i]), bits_of(want))
              << to_string(t) << " [" << i << "] of " << n << ": " << before[i] << " -> " << values[i] << ", want " << want;
        }
      }
    }
}

}  // namespace
}  // namespace smoothcheck::pipeline
