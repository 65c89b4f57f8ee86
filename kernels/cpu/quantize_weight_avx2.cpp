// AVX2 form of numerics::weight_code over one row: a true division by the row scale, the quotient
// rounded to the arithmetic dtype (f16/bf16 for the quantisers that work in the weight's dtype), then
// each variant's rounding and store.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

// numerics::weight_arithmetic is f32 or the weight's own dtype: the quotient is rounded to the weight's
// IO type exactly when the arithmetic is not f32.
template <class IO>
inline __m128i codes(__m256 w, __m256 scale, WeightQuant variant, bool in_weight_dtype) {
  __m256 v = _mm256_div_ps(w, scale);
  if (in_weight_dtype) v = IO::round_trip(v);
  if (variant == WeightQuant::compressed_tensors)  // round(clamp(v)): fminf(fmaxf(v, -128), 127) first
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
  return store_int8(round_half_even(v), Clamp::saturate);
}

template <class IO>
void row(const typename IO::storage* w, int64_t n, float scale, WeightQuant variant, DType arithmetic, int8_t* q) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t j = 0;
  const bool own = arithmetic != DType::f32;
  for (; j + 8 <= n; j += 8) store8_int8(q + j, codes<IO>(IO::load(w + j), s, variant, own));
  if (j < n) store_partial_int8(q + j, codes<IO>(load_partial<IO>(w + j, n - j), s, variant, own), n - j);
}

}  // namespace

void weight_code_row(const void* w, DType t, int64_t n, float scale, WeightQuant variant, DType arithmetic,
                     int8_t* q) {
  visit_float(t, [&](auto io) {
    using IO = decltype(io);
    row<IO>(static_cast<const typename IO::storage*>(w), n, scale, variant, arithmetic, q);
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
