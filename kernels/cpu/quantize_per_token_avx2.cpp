// AVX2 form of numerics::quantize_value over one row, with the migration reciprocal fused.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <class IO>
void row(const typename IO::storage* x, const float* recip, int64_t n, float scale, float inv_scale,
         const ActQuantOptions& o, int8_t* q) {
  const bool divide = o.math == ScaleMath::divide;
  const __m256 by = _mm256_set1_ps(divide ? scale : inv_scale);
  auto codes = [&](__m256 v, __m256 r) {
    if (recip) v = _mm256_mul_ps(v, r);
    v = divide ? _mm256_div_ps(v, by) : _mm256_mul_ps(v, by);
    return store_int8(round_with(v, o.rounding), o.clamp);
  };
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    store8_int8(q + j, codes(IO::load(x + j), recip ? _mm256_loadu_ps(recip + j) : _mm256_setzero_ps()));
  if (j < n) {
    float r[8] = {};
    if (recip) std::memcpy(r, recip + j, std::size_t(n - j) * sizeof(float));
    store_partial_int8(q + j, codes(load_partial<IO>(x + j, n - j), _mm256_loadu_ps(r)), n - j);
  }
}

}  // namespace

void quantize_row(const void* x, DType t, const float* recip, int64_t n, float scale, float inv_scale,
                  const ActQuantOptions& o, int8_t* q) {
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    row<IO>(static_cast<const typename IO::storage*>(x), recip, n, scale, inv_scale, o, q);
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
