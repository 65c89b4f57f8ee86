// Compiled with -mavx2 -mfma -mf16c on x86-64 (harness/pipeline/CMakeLists.txt); called only after
// vectorized_rederivation_available() has seen those on the CPU.
#include "harness/pipeline/rederived_weights_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_backend.h"

namespace smoothcheck::pipeline {

namespace {

// The model dtype's format, for rounding a float64 to it: 2^emin is its smallest normal, `largest` its
// largest finite value.
struct Format {
  int precision;  // significand bits, the implicit one included
  int emin;
  double largest;
};

Format format_of(DType t) {
  if (t == DType::f16) return {11, -14, 65504.0};
  return {8, -126, 0x1.fep127};  // bf16
}

double power_of_two(int k) {  // exact, k within float64's normal range
  const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
  double out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// Round to nearest, ties to even, of float64 lanes to the format, as reference::round_to_dtype does on
// the bits. |x| + C − C with C = 2^(lead + 53 − precision), lead the exponent of |x| (at least emin, so
// that subnormals share the smallest normal's spacing): C's float64 spacing is the target's quantum at
// |x|, so the addition rounds |x| to a multiple of that quantum, to nearest, and, C being an even
// number of quanta, ties to the even multiple; the subtraction is exact. Above the largest finite
// value: infinity. Finite inputs only (the caller refuses rows that are not).
struct LaneRounder {
  __m256d exponent_bits, smallest_normal, to_c, largest, infinity, sign;
  explicit LaneRounder(const Format& f)
      : exponent_bits(_mm256_castsi256_pd(_mm256_set1_epi64x(0x7ff0000000000000LL))),
        smallest_normal(_mm256_set1_pd(power_of_two(f.emin))),
        to_c(_mm256_set1_pd(power_of_two(53 - f.precision))),
        largest(_mm256_set1_pd(f.largest)),
        infinity(_mm256_set1_pd(__builtin_inf())),
        sign(_mm256_set1_pd(-0.0)) {}
  __m256d operator()(__m256d x) const {
    const __m256d magnitude = _mm256_andnot_pd(sign, x);
    const __m256d lead = _mm256_max_pd(_mm256_and_pd(magnitude, exponent_bits), smallest_normal);
    const __m256d c = _mm256_mul_pd(lead, to_c);
    __m256d r = _mm256_sub_pd(_mm256_add_pd(magnitude, c), c);
    r = _mm256_blendv_pd(r, infinity, _mm256_cmp_pd(r, largest, _CMP_GT_OQ));
    return _mm256_or_pd(r, _mm256_and_pd(sign, x));
  }
};

// f32 lanes (finite or infinite) rounded to the model's dtype and back, to nearest, ties to even.
__m256 round_f32_lanes(__m256 v, DType t) {
  if (t == DType::f16) return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  // bf16: add 0x7fff plus the kept part's lowest bit, then drop the low half (an infinity stays one, a
  // finite value past bf16's largest carries into the infinity's exponent).
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lowest_kept = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_add_epi32(bits, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lowest_kept));
  return _mm256_castsi256_ps(_mm256_and_si256(rounded, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}

// Eight smoothed values: w·s rounded to the dtype, then ÷ d in f32 and rounded to the dtype again.
__m256 smoothed_lanes(const float* w, const float* s, bool has_divisor, __m256 d, DType t, const LaneRounder& round) {
  const __m256 w8 = _mm256_loadu_ps(w), s8 = _mm256_loadu_ps(s);
  // f32 times f32 is exact in float64 (48 significant bits at most).
  const __m256d lo = round(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(w8)),
                                         _mm256_cvtps_pd(_mm256_castps256_ps128(s8))));
  const __m256d hi = round(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(w8, 1)),
                                         _mm256_cvtps_pd(_mm256_extractf128_ps(s8, 1))));
  // Values of the dtype (or infinities): exact in f32.
  __m256 v = _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
  // The reference divides in float64 and rounds to f32: with both operands of at most 24 bits, that
  // double rounding is the correctly rounded f32 quotient (53 >= 2·24 + 2), which vdivps gives.
  if (has_divisor) v = round_f32_lanes(_mm256_div_ps(v, d), t);
  return v;
}

// Eight codes as the stored int8 against round-half-even(f32(v / scale)) saturated to [-128, 127].
bool codes_match(const float* v, __m256 scale, const int8_t* stored) {
  __m256 q = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(v), scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
  int64_t eight = 0;
  std::memcpy(&eight, stored, sizeof eight);
  const __m256i want = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight));
  return _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_cvtps_epi32(q), want))) == 0xff;
}

}  // namespace

bool vectorized_rederivation_available(WeightQuant variant, DType arithmetic) {
  return variant == WeightQuant::lmdeploy && (arithmetic == DType::f16 || arithmetic == DType::bf16) &&
         kernels::cpu_supports_avx2();
}

bool row_matches_lmdeploy_recipe(const float* w, const float* s, bool has_divisor, float d, DType arithmetic,
                                 const int8_t* stored_codes, float stored_scale, int64_t cols, float* work) {
  const LaneRounder round(format_of(arithmetic));
  const __m256 d8 = _mm256_set1_ps(d);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 absmax = _mm256_setzero_ps();
  __m256 nonfinite = _mm256_setzero_ps();
  const int64_t body = cols / 8 * 8;
  // The tail goes through the same lanes, padded with w = 0 (a zero changes no absmax) and code 0.
  alignas(32) float w_tail[8] = {}, s_tail[8] = {1, 1, 1, 1, 1, 1, 1, 1}, v_tail[8] = {};
  alignas(8) int8_t codes_tail[8] = {};
  const int64_t tail = cols - body;
  std::copy(w + body, w + cols, w_tail);
  std::copy(s + body, s + cols, s_tail);
  std::copy(stored_codes + body, stored_codes + cols, codes_tail);

  const auto smooth = [&](const float* wp, const float* sp, float* out) {
    const __m256 v = smoothed_lanes(wp, sp, has_divisor, d8, arithmetic, round);
    const __m256 magnitude = _mm256_and_ps(v, abs_mask);
    absmax = _mm256_max_ps(absmax, magnitude);
    // Infinity or NaN: the row goes to the reference.
    nonfinite = _mm256_or_ps(nonfinite, _mm256_cmp_ps(magnitude, _mm256_set1_ps(__builtin_inff()), _CMP_NLT_UQ));
    _mm256_storeu_ps(out, v);
  };
  for (int64_t j = 0; j < body; j += 8) smooth(w + j, s + j, work + j);
  if (tail > 0) smooth(w_tail, s_tail, v_tail);
  if (_mm256_movemask_ps(nonfinite) != 0) return false;

  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, absmax);
  const float row_absmax = *std::max_element(lanes, lanes + 8);
  if (!(row_absmax > 0)) return false;  // a zero row: the reference's rule
  const float scale = row_absmax / 127.0f;  // f32(absmax / 127): one correctly rounded f32 division
  if (!(stored_scale == scale)) return false;
  const __m256 scale8 = _mm256_set1_ps(scale);
  for (int64_t j = 0; j < body; j += 8)
    if (!codes_match(work + j, scale8, stored_codes + j)) return false;
  return tail == 0 || codes_match(v_tail, scale8, codes_tail);
}

}  // namespace smoothcheck::pipeline
