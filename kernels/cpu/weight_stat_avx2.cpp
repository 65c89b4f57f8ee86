// AVX2 forms of weight_stat.cpp's column loops; same per-element formulas and row order.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
void column_absmax(const void* w, int64_t rows, int64_t row_stride, int64_t n, float* absmax) {
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const typename IO::storage*>(w) + r * row_stride;
    for (int64_t j = 0; j < n; j += 8) {  // absmax is padded to whole vectors
      __m256 v = j + 8 <= n ? IO::load(row + j) : load_partial<IO>(row + j, n - j);
      _mm256_storeu_ps(absmax + j, _mm256_max_ps(abs_ps(v), _mm256_loadu_ps(absmax + j)));
    }
  }
}

// Arith: the arithmetic dtype's Io, whose round_trip rounds each quotient to it (identity for f32).
template <class IO, class Arith>
void accumulate(const void* w, int64_t c0, int64_t n, const float* amax, int64_t group, double* acc) {
  const auto* row = static_cast<const typename IO::storage*>(w);
  int64_t j = 0;
  while (j < n) {
    // One segment of constant group; acc is padded to whole vectors, x is read partially at the end.
    const int64_t end = ((c0 + j) / group + 1) * group - c0;
    const int64_t seg_end = end < n ? end : n;
    const __m256 d = _mm256_set1_ps(amax[(c0 + j) / group]);
    for (; j < seg_end; j += 8) {
      const int64_t k = seg_end - j < 8 ? seg_end - j : 8;
      __m256 q = Arith::round_trip(_mm256_div_ps(abs_ps(k == 8 ? IO::load(row + j) : load_partial<IO>(row + j, k)), d));
      alignas(32) double lanes[8];
      _mm256_store_pd(lanes, _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
      _mm256_store_pd(lanes + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
      if (k == 8) {
        _mm256_storeu_pd(acc + j, _mm256_add_pd(_mm256_loadu_pd(acc + j), _mm256_load_pd(lanes)));
        _mm256_storeu_pd(acc + j + 4, _mm256_add_pd(_mm256_loadu_pd(acc + j + 4), _mm256_load_pd(lanes + 4)));
      } else {
        for (int64_t l = 0; l < k; ++l) acc[j + l] += lanes[l];
      }
    }
    j = seg_end;
  }
}

}  // namespace

void column_absmax_block(const void* w, DType t, int64_t rows, int64_t row_stride, int64_t n, float* absmax) {
  visit_float(t, [&](auto io) { column_absmax<decltype(io)>(w, rows, row_stride, n, absmax); });
}

void accumulate_normalized(const void* w, DType t, int64_t c0, int64_t n, const float* amax, int64_t group,
                           DType arithmetic, double* acc) {
  visit_float(t, [&](auto io) {
    visit_float(arithmetic, [&](auto arith) { accumulate<decltype(io), decltype(arith)>(w, c0, n, amax, group, acc); });
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
