// AVX2 form of channel_stats.cpp's column-range loop: eight channels per vector, rows in order, sums
// in double (two 4-wide halves), so the result equals the portable loop's bit for bit.
//
// The seven accumulators of an 8-channel strip live in registers while a block of kRowBlock rows
// streams past, and the strips of one row block are walked left to right: every row is read as
// contiguous runs (the hardware prefetcher follows them), and the accumulator arrays are touched once
// per row block instead of once per row. Each channel still sees its rows in token order.
#include <type_traits>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

constexpr int64_t kRowBlock = 16;

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
    const __m256 old = _mm256_loadu_ps(absmax);
    _mm256_storeu_ps(absmax, merged_absmax(old));
    _mm256_storeu_ps(min, mn), _mm256_storeu_ps(max, mx);
    _mm256_storeu_pd(sum, s_lo), _mm256_storeu_pd(sum + 4, s_hi);
    _mm256_storeu_pd(abssum, a_lo), _mm256_storeu_pd(abssum + 4, a_hi);
  }
  // The same with lanes 0-3 at channels [lo, lo + 4) of the arrays and lanes 4-7 at [hi, hi + 4)
  // (add_bf16_pair's layout).
  static __m256 load_halves(const float* p, int64_t lo, int64_t hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p + lo)), _mm_loadu_ps(p + hi), 1);
  }
  static void store_halves(float* p, int64_t lo, int64_t hi, __m256 v) {
    _mm_storeu_ps(p + lo, _mm256_castps256_ps128(v));
    _mm_storeu_ps(p + hi, _mm256_extractf128_ps(v, 1));
  }
  void load_split(const float* min, const float* max, const double* sum, const double* abssum, int64_t lo,
                  int64_t hi) {
    mn = load_halves(min, lo, hi), mx = load_halves(max, lo, hi);
    s_lo = _mm256_loadu_pd(sum + lo), s_hi = _mm256_loadu_pd(sum + hi);
    a_lo = _mm256_loadu_pd(abssum + lo), a_hi = _mm256_loadu_pd(abssum + hi);
  }
  void store_split(float* absmax, float* min, float* max, double* sum, double* abssum, int64_t lo, int64_t hi) const {
    store_halves(absmax, lo, hi, merged_absmax(load_halves(absmax, lo, hi)));
    store_halves(min, lo, hi, mn), store_halves(max, lo, hi, mx);
    _mm256_storeu_pd(sum + lo, s_lo), _mm256_storeu_pd(sum + hi, s_hi);
    _mm256_storeu_pd(abssum + lo, a_lo), _mm256_storeu_pd(abssum + hi, a_hi);
  }
  __m256 merged_absmax(__m256 old) const {
    const __m256 seen = _mm256_cmp_ps(mx, mn, _CMP_GE_OQ);
    const __m256 range_absmax = _mm256_max_ps(abs_ps(mx), abs_ps(mn));
    return _mm256_blendv_ps(old, _mm256_max_ps(range_absmax, old), seen);
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

// Sixteen bf16 channels [0, 16) of one row into a pair of strips whose lanes are permuted: the
// in-lane unpacks put a zero word under each bf16 (its f32 bits: the same value Io<bf16>::load gives)
// in two operations for 16 elements, where two vpmovzxwd and two vpslld took four, but leave
// channels {0-3, 8-11} in one vector and {4-7, 12-15} in the other. The strips are loaded and stored
// in that layout (even.load_split(..., 0, 8), odd.load_split(..., 4, 12)), so every channel still has its own
// lane and sees its rows in order: the same sums, added in the same order.
inline void add_bf16_pair(const uint16_t* p, StripAcc& even, StripAcc& odd) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i zero = _mm256_setzero_si256();
  even.add(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)));
  odd.add(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)));
}

// Columns [j, j + 8 * kStrips) of `rows` rows, strips side by side so that their add chains overlap.
// The accumulator arrays are padded to whole vectors; only x needs a partial load (width < 8).
template <class IO, int kStrips, bool kFull>
void strips(const typename IO::storage* x, int64_t rows, int64_t row_stride, int64_t width, float* absmax, float* min,
            float* max, double* sum, double* abssum) {
  StripAcc acc[kStrips];
  if constexpr (std::is_same_v<IO, Io<DType::bf16>> && kStrips == 2 && kFull) {
    acc[0].load_split(min, max, sum, abssum, 0, 8);
    acc[1].load_split(min, max, sum, abssum, 4, 12);
    for (int64_t r = 0; r < rows; ++r) add_bf16_pair(x + r * row_stride, acc[0], acc[1]);
    acc[0].store_split(absmax, min, max, sum, abssum, 0, 8);
    acc[1].store_split(absmax, min, max, sum, abssum, 4, 12);
    return;
  }
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
