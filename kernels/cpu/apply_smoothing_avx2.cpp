// AVX2 forms of apply_smoothing.cpp's row loops.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
void scale(typename IO::storage* row, const float* s, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) IO::store(row + j, _mm256_mul_ps(IO::load(row + j), _mm256_loadu_ps(s + j)));
  if (j < n) {
    float sb[8] = {};
    std::memcpy(sb, s + j, std::size_t(n - j) * sizeof(float));
    store_partial<IO>(row + j, _mm256_mul_ps(load_partial<IO>(row + j, n - j), _mm256_loadu_ps(sb)), n - j);
  }
}

template <class IO>
void divide(typename IO::storage* row, float s, int64_t n) {
  const __m256 d = _mm256_set1_ps(s);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) IO::store(row + j, _mm256_div_ps(IO::load(row + j), d));
  if (j < n) store_partial<IO>(row + j, _mm256_div_ps(load_partial<IO>(row + j, n - j), d), n - j);
}

}  // namespace

void scale_row(void* row, DType t, const float* s, int64_t n) {
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    scale<IO>(static_cast<typename IO::storage*>(row), s, n);
  });
}

void divide_row(void* row, DType t, float s, int64_t n) {
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    divide<IO>(static_cast<typename IO::storage*>(row), s, n);
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
