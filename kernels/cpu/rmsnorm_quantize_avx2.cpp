// AVX2 forms of rmsnorm_quantize.cpp's row loops. The 32 canonical lanes live in four ymm registers
// (element j in lane j % 32, fma in increasing j); zero-padded tails add fma(0, 0, lane) = lane.
// The normalised row y is computed once, into a row buffer, and quantised from there by
// quantize_row: the same y values the scalar path recomputes in its code pass.
#include <type_traits>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
__m256 load_upto(const typename IO::storage* p, int64_t available) {
  if (available >= 8) return IO::load(p);
  if (available <= 0) return _mm256_setzero_ps();
  return load_partial<IO>(p, available);
}

template <class IO>
void lanes32(const typename IO::storage* x, int64_t n, float* lanes) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t j = 0;
  if constexpr (std::is_same_v<IO, Io<DType::bf16>>) {
    // The unpacks' widening (one operation less per 8 elements) puts lanes {0-3, 8-11} in acc[0],
    // {4-7, 12-15} in acc[1], {16-19, 24-27} in acc[2], {20-23, 28-31} in acc[3]: every canonical lane
    // still has its own accumulator and its elements in increasing j. They are put back in place
    // before the tail.
    for (; j + 32 <= n; j += 32) {
      __m256 v[4];
      widen16_bf16_unordered(x + j, &v[0], &v[1]);
      widen16_bf16_unordered(x + j + 16, &v[2], &v[3]);
      for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(v[k], v[k], acc[k]);
    }
    float ordered[32];
    for (int k = 0; k < 4; ++k) {
      const int lo = 16 * (k / 2) + 4 * (k % 2);  // acc[k]'s lanes 0-3 are canonical lo..lo+3, 4-7 lo+8..lo+11
      _mm_storeu_ps(ordered + lo, _mm256_castps256_ps128(acc[k]));
      _mm_storeu_ps(ordered + lo + 8, _mm256_extractf128_ps(acc[k], 1));
    }
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_loadu_ps(ordered + 8 * k);
  }
  for (; j + 32 <= n; j += 32)
    for (int k = 0; k < 4; ++k) {
      __m256 v = IO::load(x + j + 8 * k);
      acc[k] = _mm256_fmadd_ps(v, v, acc[k]);
    }
  if (j < n)
    for (int k = 0; k < 4; ++k) {
      __m256 v = load_upto<IO>(x + j + 8 * k, n - j - 8 * k);
      acc[k] = _mm256_fmadd_ps(v, v, acc[k]);
    }
  for (int k = 0; k < 4; ++k) _mm256_storeu_ps(lanes + 8 * k, acc[k]);
}

// dtype(w * (x * inv)) for eight elements.
template <class XIO, class WIO>
__m256 normalized(__m256 x, __m256 w, __m256 inv) {
  return XIO::round_trip(_mm256_mul_ps(w, _mm256_mul_ps(x, inv)));
}

// y_j = dtype(w_j * (x_j * inv)) for the whole row, kept as f32 for the code pass; returns max_j |y_j|.
// The exact form: every lane through XIO::round_trip (with its NaN rule).
template <class XIO, class WIO>
float normalize_exact(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv, float* y) {
  const __m256 vinv = _mm256_set1_ps(inv);
  __m256 m = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = normalized<XIO, WIO>(XIO::load(x + j), WIO::load(w + j), vinv);
    _mm256_storeu_ps(y + j, v);
    m = _mm256_max_ps(abs_ps(v), m);
  }
  if (j < n) {
    const __m256 v = normalized<XIO, WIO>(load_partial<XIO>(x + j, n - j), load_partial<WIO>(w + j, n - j), vinv);
    store_partial<Io<DType::f32>>(y + j, v, n - j);
    m = _mm256_max_ps(abs_ps(v), m);  // padded lanes are dtype(0 * (0 * inv)) = +0
  }
  return horizontal_max(m);
}

// The same codes and absmax, faster: whole 32-element groups round with XIO::round_trip_unchecked
// (bf16: 5 integer operations instead of round_trip's 10), the rest of the row (< 32 elements) with
// round_trip. The two differ only in a NaN lane, where the unchecked form gives a NaN or a signed zero
// (the product comes from vmulps, so the NaN is quiet: never an infinity or a number), and y is
// only ever read for max |y| and for the codes: the maximum skips a NaN lane (maxps returns its other
// operand, as the scalar `a > m ? a : m` does) and a zero never raises it, and numerics.h
// quantize_value codes both a NaN and a zero as 0 under every option (store_int8: NaN -> 0 with
// saturation, INT32_MIN's low byte 0 without). So the outputs equal the scalar path's bit for bit
// (cases/cpu/isa_agreement_tests.cpp, RmsnormQuantizeWithNanAndInfinity, includes such NaNs).
// Each group also prefetches the same columns of the next row (`next`, may be null): this pass and the
// code pass run from cache, and without the prefetch the memory system would idle during them. max is
// exact, so two accumulators (two chains instead of one) give the same maximum.
template <class XIO, class WIO>
float normalize(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv, float* y,
                const typename XIO::storage* next) {
  const __m256 vinv = _mm256_set1_ps(inv);
  __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    if (next) prefetch_lines<32 * sizeof(typename XIO::storage)>(next + j);
    for (int k = 0; k < 4; ++k) {
      const __m256 p = _mm256_mul_ps(WIO::load(w + j + 8 * k), _mm256_mul_ps(XIO::load(x + j + 8 * k), vinv));
      const __m256 v = XIO::round_trip_unchecked(p);
      _mm256_storeu_ps(y + j + 8 * k, v);
      if (k % 2 == 0) m0 = _mm256_max_ps(abs_ps(v), m0);
      else m1 = _mm256_max_ps(abs_ps(v), m1);
    }
  }
  if (j < n) m0 = _mm256_max_ps(_mm256_set1_ps(normalize_exact<XIO, WIO>(x + j, w + j, n - j, inv, y + j)), m0);
  return horizontal_max(_mm256_max_ps(m0, m1));
}

template <class Fn>
void visit_pair(DType xt, DType wt, Fn&& fn) {
  visit_float(xt, [&](auto xio) { visit_float(wt, [&](auto wio) { fn(xio, wio); }); });
}

}  // namespace

void rms_lanes(const void* x, DType t, int64_t n, float* lanes) {
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    lanes32<IO>(static_cast<const typename IO::storage*>(x), n, lanes);
  });
}

float rms_normalize_row(const void* x, DType t, const void* w, DType wt, int64_t n, float inv, float* y,
                        const void* next) {
  float result = 0.0f;
  visit_pair(t, wt, [&](auto xio, auto wio) {
    using XIO = decltype(xio);
    using WIO = decltype(wio);
    result = normalize<XIO, WIO>(static_cast<const typename XIO::storage*>(x),
                                 static_cast<const typename WIO::storage*>(w), n, inv, y,
                                 static_cast<const typename XIO::storage*>(next));
  });
  return result;
}

}  // namespace smoothcheck::kernels::cpu::avx2
