// Compiled with -mavx2 on x86-64 (harness/pipeline/CMakeLists.txt); called only after
// vectorized_row_error_scan_available() has seen AVX2 on the CPU.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "harness/pipeline/linear_error_scan.h"

namespace smoothcheck::pipeline {

namespace {

// Four codes widened to float64 lanes.
__m256d codes_as_doubles(const int8_t* q) {
  int32_t four;
  std::memcpy(&four, q, sizeof four);
  return _mm256_cvtepi32_pd(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(four)));
}

double lane_max(__m256d v) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, v);
  return std::max(std::max(lanes[0], lanes[1]), std::max(lanes[2], lanes[3]));
}

}  // namespace

RowErrorScan scan_row_error_avx2(const float* w, const int8_t* q, const double* s, const double* inv_s, double a,
                                 int64_t cols) {
  const __m256d a4 = _mm256_set1_pd(a), two_over_a4 = _mm256_set1_pd(2.0 / a);
  const __m256d sign = _mm256_set1_pd(-0.0), infinity = _mm256_set1_pd(INFINITY);
  __m256d max_ratio = _mm256_setzero_pd(), max_error = _mm256_setzero_pd(), nonfinite = _mm256_setzero_pd();
  const int64_t body = cols / 4 * 4;
  for (int64_t j = 0; j < body; j += 4) {
    // The scalar path's operations in its order, one rounding each: a·(1/s), q·that, w − that, |·|,
    // then err·s and ·(2/a).
    const __m256d step = _mm256_mul_pd(a4, _mm256_loadu_pd(inv_s + j));
    const __m256d deq = _mm256_mul_pd(codes_as_doubles(q + j), step);
    const __m256d err = _mm256_andnot_pd(sign, _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(w + j)), deq));
    const __m256d ratio = _mm256_mul_pd(_mm256_mul_pd(err, _mm256_loadu_pd(s + j)), two_over_a4);
    // vmaxpd returns its second operand when either is NaN: the running maximum, as std::max(max, x) keeps.
    max_ratio = _mm256_max_pd(ratio, max_ratio);
    max_error = _mm256_max_pd(err, max_error);
    nonfinite = _mm256_or_pd(nonfinite, _mm256_cmp_pd(_mm256_andnot_pd(sign, ratio), infinity, _CMP_NLT_UQ));
  }
  RowErrorScan out;
  out.max_ratio = lane_max(max_ratio);
  out.max_error = lane_max(max_error);
  out.finite = _mm256_movemask_pd(nonfinite) == 0;
  accumulate_row_error_scalar(w, q, s, inv_s, a, body, cols, out);  // the tail
  return out;
}

}  // namespace smoothcheck::pipeline
