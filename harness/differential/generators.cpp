#include "harness/differential/generators.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "kernels/numerics.h"

namespace smoothcheck {

const char* to_string(Distribution d) {
  switch (d) {
    case Distribution::normal: return "normal";
    case Distribution::uniform: return "uniform";
    case Distribution::outlier_channels: return "outliers";
    case Distribution::heavy_tail: return "heavytail";
    case Distribution::zero_rows: return "zerorows";
    case Distribution::constant_rows: return "constrows";
    case Distribution::midpoints: return "midpoints";
    case Distribution::near_saturation: return "nearsat";
    case Distribution::one_signed: return "onesigned";
  }
  return "?";
}

std::vector<Distribution> all_distributions() {
  return {Distribution::normal,        Distribution::uniform,       Distribution::outlier_channels,
          Distribution::heavy_tail,    Distribution::zero_rows,     Distribution::constant_rows,
          Distribution::midpoints,     Distribution::near_saturation, Distribution::one_signed};
}

double representable(double value, DType dtype) {
  switch (dtype) {
    case DType::f64: return value;
    case DType::f32: return double(float(value));
    case DType::f16: return numerics::f16_to_float(numerics::float_to_f16(float(value)));
    case DType::bf16: return numerics::bf16_to_float(numerics::float_to_bf16(float(value)));
    default: throw std::invalid_argument(std::string("generators: no float values for dtype ") + to_string(dtype));
  }
}

uint64_t derive_seed(uint64_t case_seed, const std::string& tensor_tag) {
  uint64_t h = case_seed ^ 0x9e3779b97f4a7c15ull;
  for (char c : tensor_tag) h = (h ^ uint8_t(c)) * 1099511628211ull;
  // splitmix64 finaliser
  h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 27; h *= 0x94d049bb133111ebull; h ^= h >> 31;
  return h;
}

bool may_be_all_zero(Distribution d, int64_t rows) { return d == Distribution::zero_rows && rows <= 1; }

namespace {

// The channels that carry outliers: about 1 % of them (at least one), fixed by the seed.
std::vector<char> outlier_channel_mask(int64_t cols, std::mt19937_64& rng) {
  std::vector<char> mask(std::size_t(cols), 0);
  int64_t count = std::max<int64_t>(1, cols / 100);
  std::uniform_int_distribution<int64_t> pick(0, cols - 1);
  for (int64_t i = 0; i < count; ++i) mask[std::size_t(pick(rng))] = 1;
  return mask;
}

}  // namespace

std::vector<double> generate_matrix(int64_t rows, int64_t cols, Distribution d, uint64_t seed, DType dtype) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> out(std::size_t(rows * cols), 0.0);
  auto at = [&](int64_t r, int64_t c) -> double& { return out[std::size_t(r * cols + c)]; };

  switch (d) {
    case Distribution::normal:
      for (double& v : out) v = normal(rng);
      break;
    case Distribution::uniform:
      for (double& v : out) v = uniform(rng);
      break;
    case Distribution::outlier_channels: {
      std::vector<char> mask = outlier_channel_mask(cols, rng);
      std::uniform_real_distribution<double> magnitude(50.0, 100.0);
      std::vector<double> channel_gain(std::size_t(cols), 1.0);
      for (int64_t c = 0; c < cols; ++c)
        if (mask[std::size_t(c)]) channel_gain[std::size_t(c)] = magnitude(rng);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) at(r, c) = normal(rng) * channel_gain[std::size_t(c)];
      break;
    }
    case Distribution::heavy_tail:
      for (double& v : out) v = (uniform(rng) < 0 ? -1.0 : 1.0) * std::exp(2.0 * normal(rng));
      break;
    case Distribution::zero_rows:
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) at(r, c) = (rows == 1 || r % 2 == 1) ? 0.0 : normal(rng);
      break;
    case Distribution::constant_rows:
      for (int64_t r = 0; r < rows; ++r) {
        double value = normal(rng);
        if (value == 0.0) value = 1.0;
        for (int64_t c = 0; c < cols; ++c) at(r, c) = value;
      }
      break;
    case Distribution::midpoints: {
      // (k + 0.5) * 2^e needs 8 significant bits at most (|2k + 1| <= 255): exact in bf16, f16 and f32.
      std::uniform_int_distribution<int> exponent(-6, 2);
      std::uniform_int_distribution<int> k(-127, 126);  // |k + 0.5| <= 126.5 < 127: the row absmax stays 127 * 2^e
      std::uniform_int_distribution<int64_t> pick(0, cols - 1);
      for (int64_t r = 0; r < rows; ++r) {
        double unit = std::ldexp(1.0, exponent(rng));
        for (int64_t c = 0; c < cols; ++c) at(r, c) = (k(rng) + 0.5) * unit;
        at(r, pick(rng)) = (r % 2 ? -127.0 : 127.0) * unit;
      }
      break;
    }
    case Distribution::near_saturation: {
      std::uniform_int_distribution<int> ulps(0, 64);
      for (int64_t r = 0; r < rows; ++r) {
        double absmax = std::ldexp(1.0, int(r % 5) - 2);
        for (int64_t c = 0; c < cols; ++c) {
          double sign = (uniform(rng) < 0) ? -1.0 : 1.0;
          at(r, c) = sign * absmax * (1.0 - ulps(rng) * std::ldexp(1.0, -10));
        }
        at(r, 0) = absmax;
      }
      break;
    }
    case Distribution::one_signed:
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) at(r, c) = (r % 2 ? -1.0 : 1.0) * (std::fabs(normal(rng)) + 1e-3);
      break;
  }
  for (double& v : out) v = representable(v, dtype);
  if (!may_be_all_zero(d, rows) && !out.empty() && out[0] == 0.0) out[0] = representable(0.5, dtype);
  return out;
}

std::vector<double> generate_positive_scales(int64_t size, uint64_t seed, bool powers_of_two) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> log2_scale(-4.0, 4.0);
  std::vector<double> s(static_cast<std::size_t>(size));
  for (double& v : s) {
    double e = log2_scale(rng);
    v = powers_of_two ? std::ldexp(1.0, int(std::lround(e))) : double(float(std::exp2(e)));
  }
  return s;
}

}  // namespace smoothcheck
