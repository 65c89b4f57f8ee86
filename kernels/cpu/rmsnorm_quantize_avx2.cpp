// AVX2 forms of rmsnorm_quantize.cpp's row loops. The 32 canonical lanes live in four ymm registers
// (element j in lane j % 32, fma in increasing j); zero-padded tails add fma(0, 0, lane) = lane.
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

template <class XIO, class WIO>
float absmax(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv) {
  const __m256 vinv = _mm256_set1_ps(inv);
  __m256 m = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    __m256 y = j + 8 <= n ? normalized<XIO, WIO>(XIO::load(x + j), WIO::load(w + j), vinv)
                          : normalized<XIO, WIO>(load_partial<XIO>(x + j, n - j), load_partial<WIO>(w + j, n - j), vinv);
    m = _mm256_max_ps(abs_ps(y), m);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

template <class XIO, class WIO>
void codes(const typename XIO::storage* x, const typename WIO::storage* w, int64_t n, float inv, float scale,
           float inv_scale, const ActQuantOptions& o, int8_t* q) {
  const __m256 vinv = _mm256_set1_ps(inv);
  const bool divide = o.math == ScaleMath::divide;
  const __m256 by = _mm256_set1_ps(divide ? scale : inv_scale);
  auto quantize = [&](__m256 y) {
    y = divide ? _mm256_div_ps(y, by) : _mm256_mul_ps(y, by);
    return store_int8(round_with(y, o.rounding), o.clamp);
  };
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) store8_int8(q + j, quantize(normalized<XIO, WIO>(XIO::load(x + j), WIO::load(w + j), vinv)));
  if (j < n)
    store_partial_int8(
        q + j, quantize(normalized<XIO, WIO>(load_partial<XIO>(x + j, n - j), load_partial<WIO>(w + j, n - j), vinv)),
        n - j);
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

float rms_absmax(const void* x, DType t, const void* w, DType wt, int64_t n, float inv) {
  float result = 0.0f;
  visit_pair(t, wt, [&](auto xio, auto wio) {
    using XIO = decltype(xio);
    using WIO = decltype(wio);
    result = absmax<XIO, WIO>(static_cast<const typename XIO::storage*>(x), static_cast<const typename WIO::storage*>(w),
                              n, inv);
  });
  return result;
}

void rms_quantize_row(const void* x, DType t, const void* w, DType wt, int64_t n, float inv, float scale,
                      float inv_scale, const ActQuantOptions& o, int8_t* q) {
  visit_pair(t, wt, [&](auto xio, auto wio) {
    using XIO = decltype(xio);
    using WIO = decltype(wio);
    codes<XIO, WIO>(static_cast<const typename XIO::storage*>(x), static_cast<const typename WIO::storage*>(w), n, inv,
                    scale, inv_scale, o, q);
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
