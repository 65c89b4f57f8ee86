// Host inputs for the CPU benchmarks: 64-byte aligned buffers (a cache line, and the alignment the
// AVX2 paths like best) filled with a cheap deterministic pattern converted exactly to the dtype.
// The values only need to be finite, non-denormal and varied (so no branch of a kernel is skipped and
// no slow denormal arithmetic pollutes a timing); the harness's generators are for correctness, and
// too slow for tensors of 45 M elements.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "kernels/numerics.h"
#include "kernels/options.h"

namespace smoothcheck::bench {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(std::size_t bytes) : bytes_(bytes) {
    const std::size_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    data_.reset(std::aligned_alloc(64, rounded > 0 ? rounded : 64));
    if (!data_) throw std::bad_alloc();
  }
  void* data() const { return data_.get(); }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_.get());
  }
  std::size_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<void, FreeDeleter> data_;
  std::size_t bytes_ = 0;
};

// A 64-bit xorshift: deterministic and far faster than <random>'s distributions.
class FastRng {
 public:
  explicit FastRng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  // Uniform in [-1, 1).
  float symmetric() { return float(int32_t(next() >> 32)) * (1.0f / 2147483648.0f); }
  // Roughly bell-shaped in (-2, 2): the sum of two uniforms.
  float bell() { return symmetric() + symmetric(); }

 private:
  uint64_t s_;
};

// Stores value in element i of a float tensor of dtype (f32, f16, bf16).
inline void store_float(void* base, DType dtype, std::size_t i, float value) {
  switch (dtype) {
    case DType::f32:
      static_cast<float*>(base)[i] = value;
      break;
    case DType::f16:
      static_cast<uint16_t*>(base)[i] = numerics::float_to_f16(value);
      break;
    case DType::bf16:
      static_cast<uint16_t*>(base)[i] = numerics::float_to_bf16(value);
      break;
    default:
      break;
  }
}

// count elements of dtype, bell-shaped values; a zero is replaced so no row is degenerate.
inline HostBuffer make_float_tensor(DType dtype, std::size_t count, uint64_t seed) {
  HostBuffer b(count * dtype_size(dtype));
  FastRng rng(seed);
  for (std::size_t i = 0; i < count; ++i) {
    float v = rng.bell();
    if (v == 0.0f) v = 0.5f;
    store_float(b.data(), dtype, i, v);
  }
  return b;
}

// count int8 codes uniform in [-127, 127] (the symmetric range the quantisers produce).
inline HostBuffer make_int8_tensor(std::size_t count, uint64_t seed) {
  HostBuffer b(count);
  FastRng rng(seed);
  auto* p = b.as<int8_t>();
  for (std::size_t i = 0; i < count; ++i) p[i] = int8_t(int(rng.next() % 255) - 127);
  return b;
}

// count positive float32 scales in [0.5, 2): statistics, migration and smoothing scales.
inline HostBuffer make_positive_floats(std::size_t count, uint64_t seed) {
  HostBuffer b(count * sizeof(float));
  FastRng rng(seed);
  for (std::size_t i = 0; i < count; ++i) b.as<float>()[i] = 1.25f + 0.75f * rng.symmetric();
  return b;
}

// The in-place smoothing kernels run many times on one buffer: alternating a power-of-two scale with
// its exact reciprocal keeps the values where they started (no drift into infinities or denormals).
inline void make_power_of_two_pair(std::size_t count, uint64_t seed, HostBuffer* s, HostBuffer* inverse) {
  *s = HostBuffer(count * sizeof(float));
  *inverse = HostBuffer(count * sizeof(float));
  FastRng rng(seed);
  static constexpr float kPowers[4] = {0.25f, 0.5f, 2.0f, 4.0f};
  for (std::size_t i = 0; i < count; ++i) {
    const float v = kPowers[rng.next() % 4];
    s->as<float>()[i] = v;
    inverse->as<float>()[i] = 1.0f / v;
  }
}

}  // namespace smoothcheck::bench
