// Compiled with -mavx2 -mfma -mf16c on x86-64 (harness/pipeline/CMakeLists.txt); called only after
// vectorized_rederivation_available() has seen those on the CPU.
#include "harness/pipeline/rederived_weights_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::pipeline {

namespace {

// f32 lanes rounded to the model's dtype and back, to nearest, ties to even: the CPU kernels' vector
// conversions. bf16 takes the form without the NaN rule, the same on every lane that is not NaN; a NaN
// lane (from a NaN weight) sends its row to the reference anyway (row_matches_lmdeploy_recipe).
__m256 round_f32_lanes(__m256 v, DType t) {
  using kernels::cpu::avx2::Io;
  return t == DType::f16 ? Io<DType::f16>::round_trip(v) : Io<DType::bf16>::round_trip_unchecked(v);
}

// Below this, a nonzero f32 product may have lost bits to f32's subnormals, and its remainder may not be
// exact: the product of an 8-bit bf16 weight and a 24-bit s has 32 significant bits, which stay above
// 2^-149 while the product is at least 2^-117.
constexpr float kSmallestExactProduct = 0x1.0p-100f;

// Eight products w·s rounded once to the model's dtype, as the reference rounds the float64 product:
// p = f32(w·s) and its remainder e = w·s − p (one fma, exact) give the product rounded to odd in f32 (p
// when e = 0; otherwise whichever of p and its neighbour toward w·s has its last bit set). f32's 24
// bits are at least the dtype's 11 (8) + 2, so rounding that to the dtype to nearest is the correctly
// rounded product (Boldo and Melquiond, "Emulation of a FMA and correctly rounded sums: proved
// algorithms using rounding to odd", IEEE TC 2008): no f32 rounding lands on a dtype midpoint and
// tips its tie. An f32 product that underflowed to ±0 is already right (the exact one is below both
// dtypes' half-smallest subnormal). Lanes where the remainder may be inexact (0 < |p| < 2^-100) are set
// in *uncertain: only bf16 can hold such products (f16 rounds all of them to ±0, whatever the last bit).
__m256 product_in_dtype(__m256 w, __m256 s, DType t, __m256* uncertain) {
  const __m256 p = _mm256_mul_ps(w, s);
  const __m256 e = _mm256_fmsub_ps(w, s, p);
  const __m256i p_bits = _mm256_castps_si256(p);
  const __m256i inexact = _mm256_castps_si256(_mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_NEQ_OQ));
  // −1 where e's sign differs from p's: the exact product is then nearer zero than p, and p's
  // neighbour that way is its bit pattern minus one, whatever the sign.
  const __m256i nearer_zero =
      _mm256_and_si256(_mm256_srai_epi32(_mm256_xor_si256(p_bits, _mm256_castps_si256(e)), 31), inexact);
  const __m256i odd =
      _mm256_or_si256(_mm256_add_epi32(p_bits, nearer_zero), _mm256_and_si256(inexact, _mm256_set1_epi32(1)));
  if (t == DType::bf16) {
    const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), p);
    const __m256 tiny = _mm256_cmp_ps(magnitude, _mm256_set1_ps(kSmallestExactProduct), _CMP_LT_OQ);
    const __m256 nonzero = _mm256_cmp_ps(magnitude, _mm256_setzero_ps(), _CMP_GT_OQ);
    *uncertain = _mm256_or_ps(*uncertain, _mm256_and_ps(tiny, nonzero));
  }
  return round_f32_lanes(_mm256_castsi256_ps(odd), t);
}

// Eight smoothed values: w·s rounded to the dtype, then ÷ d in f32 and rounded to the dtype again.
__m256 smoothed_lanes(const float* w, const float* s, bool has_divisor, __m256 d, DType t, __m256* uncertain) {
  __m256 v = product_in_dtype(_mm256_loadu_ps(w), _mm256_loadu_ps(s), t, uncertain);
  // The reference divides in float64 and rounds to f32: with both operands of at most 24 bits, that
  // double rounding is the correctly rounded f32 quotient (53 >= 2·24 + 2), which vdivps gives.
  if (has_divisor) v = round_f32_lanes(_mm256_div_ps(v, d), t);
  return v;
}

// Eight codes as the stored int8 against round-half-even(f32(v / scale)) saturated to [-128, 127], by
// the division.
bool codes_match_by_division(const float* v, __m256 scale, const int8_t* stored) {
  __m256 q = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(v), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
  int64_t eight = 0;
  std::memcpy(&eight, stored, sizeof eight);
  const __m256i want = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight));
  return _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_cvtps_epi32(q), want))) == 0xff;
}

// The same, first without the division (vdivps was the loop's slowest instruction): q = f32(v · f32(1 /
// scale)) is within 3 f32 roundings of the quotient Q = v / scale, 3 · 2^-24 · |Q| ≤ 3 · 2^-17 for |Q| ≤
// 128 (v is at most the row's absmax, scale its 127th). So where |q − c| < 0.5 − 2^-14 for the stored
// code c, f32(Q) is within 0.5 of c too and rounds to it. Lanes nearer a half (rare) go through the
// division.
bool codes_match(const float* v, __m256 scale, __m256 reciprocal, const int8_t* stored) {
  int64_t eight = 0;
  std::memcpy(&eight, stored, sizeof eight);
  const __m256 c = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight)));
  const __m256 q = _mm256_mul_ps(_mm256_loadu_ps(v), reciprocal);
  const __m256 distance = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(q, c));
  if (_mm256_movemask_ps(_mm256_cmp_ps(distance, _mm256_set1_ps(0.5f - 0x1.0p-14f), _CMP_LT_OQ)) == 0xff) return true;
  return codes_match_by_division(v, scale, stored);
}

}  // namespace

bool vectorized_rederivation_available(WeightQuant variant, DType arithmetic) {
  return variant == WeightQuant::lmdeploy && (arithmetic == DType::f16 || arithmetic == DType::bf16) &&
         kernels::cpu_supports_avx2();
}

bool row_matches_lmdeploy_recipe(const float* w, const float* s, bool has_divisor, float d, DType arithmetic,
                                 const int8_t* stored_codes, float stored_scale, int64_t cols, float* work) {
  const __m256 d8 = _mm256_set1_ps(d);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 absmax = _mm256_setzero_ps();
  __m256 nonfinite = _mm256_setzero_ps();
  __m256 uncertain = _mm256_setzero_ps();
  const int64_t body = cols / 8 * 8;
  // The tail goes through the same lanes, padded with w = 0 (a zero changes no absmax) and code 0.
  alignas(32) float w_tail[8] = {}, s_tail[8] = {1, 1, 1, 1, 1, 1, 1, 1}, v_tail[8] = {};
  alignas(8) int8_t codes_tail[8] = {};
  const int64_t tail = cols - body;
  std::copy(w + body, w + cols, w_tail);
  std::copy(s + body, s + cols, s_tail);
  std::copy(stored_codes + body, stored_codes + cols, codes_tail);

  const auto smooth = [&](const float* wp, const float* sp, float* out) {
    const __m256 v = smoothed_lanes(wp, sp, has_divisor, d8, arithmetic, &uncertain);
    const __m256 magnitude = _mm256_and_ps(v, abs_mask);
    absmax = _mm256_max_ps(absmax, magnitude);
    // Infinity or NaN: the row goes to the reference.
    nonfinite = _mm256_or_ps(nonfinite, _mm256_cmp_ps(magnitude, _mm256_set1_ps(__builtin_inff()), _CMP_NLT_UQ));
    _mm256_storeu_ps(out, v);
  };
  for (int64_t j = 0; j < body; j += 8) smooth(w + j, s + j, work + j);
  if (tail > 0) smooth(w_tail, s_tail, v_tail);
  if (_mm256_movemask_ps(_mm256_or_ps(nonfinite, uncertain)) != 0) return false;

  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, absmax);
  const float row_absmax = *std::max_element(lanes, lanes + 8);
  if (!(row_absmax > 0)) return false;  // a zero row: the reference's rule
  const float scale = row_absmax / 127.0f;  // f32(absmax / 127): one correctly rounded f32 division
  if (!(stored_scale == scale)) return false;
  const __m256 scale8 = _mm256_set1_ps(scale), reciprocal8 = _mm256_set1_ps(1.0f / scale);
  for (int64_t j = 0; j < body; j += 8)
    if (!codes_match(work + j, scale8, reciprocal8, stored_codes + j)) return false;
  return tail == 0 || codes_match(v_tail, scale8, reciprocal8, codes_tail);
}

}  // namespace smoothcheck::pipeline
