// AVX2 form of channel_stats.cpp's column-range loop: eight channels per vector, rows in order, sums
// in double (two 4-wide halves), so the result equals the portable loop's bit for bit.
//
// The seven accumulators of an 8-channel strip live in registers while a block of kRowBlock rows
// streams past, and the strips of one row block are walked left to right: every row is read as
// contiguous runs (the hardware prefetcher follows them), and the accumulator arrays are touched once
// per row block instead of once per row. Each channel still sees its rows in token order.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

constexpr int64_t kRowBlock = 16;  // 16 rows x one 8-float strip: 16 lines in flight, all in L1

// The accumulators of one 8-channel strip. absmax is not tracked per element: max_i |x_i| equals
// max(|max_i x_i|, |min_i x_i|), and maxps/minps skip NaN (they return the accumulator) exactly as the
// per-element absmax update does, so it is derived from min and max when the strip is stored; a lane
// that has seen no number yet (max < min) keeps the absmax it had.
struct StripAcc {
  __m256 mn, mx;
  __m256d s_lo, s_hi, a_lo, a_hi;
  void load(const float* min, const float* max, const double* sum, const double* abssum) {
    mn = _mm256_loadu_ps(min), mx = _mm256_loadu_ps(max);
    s_lo = _mm256_loadu_pd(sum), s_hi = _mm256_loadu_pd(sum + 4);
    a_lo = _mm256_loadu_pd(abssum), a_hi = _mm256_loadu_pd(abssum + 4);
  }
  void store(float* absmax, float* min, float* max, double* sum, double* abssum) const {
    const __m256 seen = _mm256_cmp_ps(mx, mn, _CMP_GE_OQ);
    const __m256 range_absmax = _mm256_max_ps(abs_ps(mx), abs_ps(mn));
    const __m256 old = _mm256_loadu_ps(absmax);
    _mm256_storeu_ps(absmax, _mm256_blendv_ps(old, _mm256_max_ps(range_absmax, old), seen));
    _mm256_storeu_ps(min, mn), _mm256_storeu_ps(max, mx);
    _mm256_storeu_pd(sum, s_lo), _mm256_storeu_pd(sum + 4, s_hi);
    _mm256_storeu_pd(abssum, a_lo), _mm256_storeu_pd(abssum + 4, a_hi);
  }
  void add(__m256 v) {
    mn = _mm256_min_ps(v, mn);
    mx = _mm256_max_ps(v, mx);
    // double(|v|) == |double(v)| (the widening is exact), so each half is converted once.
    const __m256d d_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), d_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d sign = _mm256_set1_pd(-0.0);
    s_lo = _mm256_add_pd(s_lo, d_lo);
    s_hi = _mm256_add_pd(s_hi, d_hi);
    a_lo = _mm256_add_pd(a_lo, _mm256_andnot_pd(sign, d_lo));
    a_hi = _mm256_add_pd(a_hi, _mm256_andnot_pd(sign, d_hi));
  }
};

// Columns [j, j + 8 * kStrips) of `rows` rows, strips side by side so that their add chains overlap.
// The accumulator arrays are padded to whole vectors; only x needs a partial load (width < 8).
template <class IO, int kStrips, bool kFull>
void strips(const typename IO::storage* x, int64_t rows, int64_t row_stride, int64_t width, float* absmax, float* min,
            float* max, double* sum, double* abssum) {
  StripAcc acc[kStrips];
  for (int s = 0; s < kStrips; ++s)
    acc[s].load(min + 8 * s, max + 8 * s, sum + 8 * s, abssum + 8 * s);
  for (int64_t r = 0; r < rows; ++r)
    for (int s = 0; s < kStrips; ++s)
      acc[s].add(kFull ? IO::load(x + r * row_stride + 8 * s) : load_partial<IO>(x + r * row_stride, width));
  for (int s = 0; s < kStrips; ++s)
    acc[s].store(absmax + 8 * s, min + 8 * s, max + 8 * s, sum + 8 * s, abssum + 8 * s);
}

template <class IO>
void block(const void* x, int64_t rows, int64_t row_stride, int64_t n, float* absmax, float* min, float* max,
           double* sum, double* abssum) {
  const auto* base = static_cast<const typename IO::storage*>(x);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
    const int64_t rb = rows - r0 < kRowBlock ? rows - r0 : kRowBlock;
    const auto* top = base + r0 * row_stride;
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
      strips<IO, 2, true>(top + j, rb, row_stride, 16, absmax + j, min + j, max + j, sum + j, abssum + j);
    for (; j + 8 <= n; j += 8)
      strips<IO, 1, true>(top + j, rb, row_stride, 8, absmax + j, min + j, max + j, sum + j, abssum + j);
    if (j < n)
      strips<IO, 1, false>(top + j, rb, row_stride, n - j, absmax + j, min + j, max + j, sum + j, abssum + j);
  }
}

}  // namespace

void channel_stats_block(const void* x, DType t, int64_t rows, int64_t row_stride, int64_t n, float* absmax,
                         float* min, float* max, double* sum, double* abssum) {
  visit_float(t, [&](auto io) { block<decltype(io)>(x, rows, row_stride, n, absmax, min, max, sum, abssum); });
}

}  // namespace smoothcheck::kernels::cpu::avx2
