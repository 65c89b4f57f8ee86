#include <type_traits>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
float absmax(const typename IO::storage* x, const float* recip, int64_t n) {
  __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
  int64_t j = 0;
  if constexpr (std::is_same_v<IO, Io<DType::bf16>>) {
    if (!recip)  // the maximum does not depend on the order: the unpacks' widening, one operation less per 8
      for (; j + 16 <= n; j += 16) {
        __m256 lo, hi;
        widen16_bf16_unordered(x + j, &lo, &hi);
        m0 = _mm256_max_ps(abs_ps(lo), m0);
        m1 = _mm256_max_ps(abs_ps(hi), m1);
      }
  }
  for (; j + 16 <= n; j += 16) {
    __m256 v0 = IO::load(x + j), v1 = IO::load(x + j + 8);
    if (recip) {
      v0 = _mm256_mul_ps(v0, _mm256_loadu_ps(recip + j));
      v1 = _mm256_mul_ps(v1, _mm256_loadu_ps(recip + j + 8));
    }
    m0 = _mm256_max_ps(abs_ps(v0), m0);
    m1 = _mm256_max_ps(abs_ps(v1), m1);
  }
  for (; j < n; j += 8) {
    const int64_t k = n - j < 8 ? n - j : 8;
    __m256 v = load_partial<IO>(x + j, k);  // padded lanes are +0: they never raise the maximum
    if (recip) {
      float r[8] = {};
      std::memcpy(r, recip + j, std::size_t(k) * sizeof(float));
      v = _mm256_mul_ps(v, _mm256_loadu_ps(r));
    }
    m0 = _mm256_max_ps(abs_ps(v), m0);
  }
  return horizontal_max(_mm256_max_ps(m0, m1));
}

// y_j = x_j * recip_j (f32) for the whole row; returns max_j |y_j|.
template <class IO>
float scaled(const typename IO::storage* x, const float* recip, int64_t n, float* y) {
  __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 v0 = _mm256_mul_ps(IO::load(x + j), _mm256_loadu_ps(recip + j));
    const __m256 v1 = _mm256_mul_ps(IO::load(x + j + 8), _mm256_loadu_ps(recip + j + 8));
    _mm256_storeu_ps(y + j, v0);
    _mm256_storeu_ps(y + j + 8, v1);
    m0 = _mm256_max_ps(abs_ps(v0), m0);
    m1 = _mm256_max_ps(abs_ps(v1), m1);
  }
  for (; j < n; j += 8) {
    const int64_t k = n - j < 8 ? n - j : 8;
    float r[8] = {};
    std::memcpy(r, recip + j, std::size_t(k) * sizeof(float));
    const __m256 v = _mm256_mul_ps(load_partial<IO>(x + j, k), _mm256_loadu_ps(r));  // padded lanes: +0
    store_partial<Io<DType::f32>>(y + j, v, k);
    m0 = _mm256_max_ps(abs_ps(v), m0);
  }
  return horizontal_max(_mm256_max_ps(m0, m1));
}

}  // namespace

float scaled_absmax_row(const void* x, DType t, const float* recip, int64_t n, float* y) {
  float result = 0.0f;
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    result = scaled<IO>(static_cast<const typename IO::storage*>(x), recip, n, y);
  });
  return result;
}

float absmax_row(const void* x, DType t, const float* recip, int64_t n) {
  float result = 0.0f;
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    result = absmax<IO>(static_cast<const typename IO::storage*>(x), recip, n);
  });
  return result;
}

}  // namespace smoothcheck::kernels::cpu::avx2
