// AVX2 form of channel_stats.cpp's column-block loop: eight channels per vector, rows in order, sums
// in double (two 4-wide halves), so the result equals the portable loop's bit for bit.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
void block(const void* x, int64_t rows, int64_t row_stride, int64_t n, float* absmax, float* min, float* max,
           double* sum, double* abssum) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const typename IO::storage*>(x) + r * row_stride;
    for (int64_t j = 0; j < n; j += 8) {
      // The accumulator arrays are padded to whole vectors; only x needs a partial load.
      __m256 v = j + 8 <= n ? IO::load(row + j) : load_partial<IO>(row + j, n - j);
      __m256 a = abs_ps(v);
      _mm256_storeu_ps(absmax + j, _mm256_max_ps(a, _mm256_loadu_ps(absmax + j)));
      _mm256_storeu_ps(min + j, _mm256_min_ps(v, _mm256_loadu_ps(min + j)));
      _mm256_storeu_ps(max + j, _mm256_max_ps(v, _mm256_loadu_ps(max + j)));
      __m256d v_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), v_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      __m256d a_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a)), a_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
      _mm256_storeu_pd(sum + j, _mm256_add_pd(_mm256_loadu_pd(sum + j), v_lo));
      _mm256_storeu_pd(sum + j + 4, _mm256_add_pd(_mm256_loadu_pd(sum + j + 4), v_hi));
      _mm256_storeu_pd(abssum + j, _mm256_add_pd(_mm256_loadu_pd(abssum + j), a_lo));
      _mm256_storeu_pd(abssum + j + 4, _mm256_add_pd(_mm256_loadu_pd(abssum + j + 4), a_hi));
    }
  }
}

}  // namespace

void channel_stats_block(const void* x, DType t, int64_t rows, int64_t row_stride, int64_t n, float* absmax,
                         float* min, float* max, double* sum, double* abssum) {
  visit_float(t, [&](auto io) { block<decltype(io)>(x, rows, row_stride, n, absmax, min, max, sum, abssum); });
}

}  // namespace smoothcheck::kernels::cpu::avx2
