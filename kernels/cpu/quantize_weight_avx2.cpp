// AVX2 form of numerics::weight_code over one row: a true division by the row scale, the quotient
// rounded to the arithmetic dtype (f16/bf16 for the quantisers that work in the weight's dtype), then
// each variant's rounding and store.
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

inline __m256 round_to(__m256 v, DType arithmetic) {
  if (arithmetic == DType::bf16) return Io<DType::bf16>::round_trip(v);
  if (arithmetic == DType::f16) return Io<DType::f16>::round_trip(v);
  return v;
}

inline __m128i codes(__m256 w, __m256 scale, WeightQuant variant, DType arithmetic) {
  __m256 v = round_to(_mm256_div_ps(w, scale), arithmetic);
  if (variant == WeightQuant::compressed_tensors)  // round(clamp(v)): fminf(fmaxf(v, -128), 127) first
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
  return store_int8(round_half_even(v), Clamp::saturate);
}

template <class IO>
void row(const typename IO::storage* w, int64_t n, float scale, WeightQuant variant, DType arithmetic, int8_t* q) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) store8_int8(q + j, codes(IO::load(w + j), s, variant, arithmetic));
  if (j < n) store_partial_int8(q + j, codes(load_partial<IO>(w + j, n - j), s, variant, arithmetic), n - j);
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
