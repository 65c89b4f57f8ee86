// Eight-wide element access and the int8 store for the *_avx2.cpp files: F16C for f16, bit shifts for
// bf16, each the vector form of the numerics.h conversion (tests/cases/cpu check them bit for bit).
// Everything here has internal linkage (anonymous namespace), so no AVX2 copy can leak into the
// portable path through the linker. Include from *_avx2.cpp files only.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/options.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <DType T>
struct Io;

template <>
struct Io<DType::f32> {
  using storage = float;
  static __m256 load(const storage* p) { return _mm256_loadu_ps(p); }
  static void store(storage* p, __m256 v) { _mm256_storeu_ps(p, v); }
  static __m256 round_trip(__m256 v) { return v; }
  static __m256 round_trip_unchecked(__m256 v) { return v; }  // see Io<bf16>
};

template <>
struct Io<DType::f16> {
  using storage = uint16_t;
  static __m256 load(const storage* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static __m128i to_bits(__m256 v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static void store(storage* p, __m256 v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bits(v)); }
  static __m256 round_trip(__m256 v) { return _mm256_cvtph_ps(to_bits(v)); }
  static __m256 round_trip_unchecked(__m256 v) { return round_trip(v); }  // F16C keeps NaN itself
};

template <>
struct Io<DType::bf16> {
  using storage = uint16_t;
  static __m256 from_bits(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static __m256 load(const storage* p) { return from_bits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  // numerics::float_to_bf16: round to nearest even by adding 0x7fff + lsb; NaN -> (bits >> 16) | 0x40.
  static __m128i to_bits(__m256 v) {
    __m256i u = _mm256_castps_si256(v);
    __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    __m256i r = _mm256_blendv_epi8(rounded, quiet, is_nan);
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);  // qwords 0, 2
    return _mm256_castsi256_si128(packed);
  }
  static void store(storage* p, __m256 v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bits(v)); }
  // from_bits(to_bits(v)) without leaving 32-bit lanes: the same rounding, with the low 16 bits masked
  // off instead of shifted out and back, and no pack.
  static __m256 round_trip(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i high_half = _mm256_set1_epi32(int(0xffff0000u));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_and_si256(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), high_half);
    const __m256i quiet = _mm256_and_si256(_mm256_or_si256(u, _mm256_set1_epi32(0x00400000)), high_half);
    const __m256i is_nan =
        _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_castsi256_ps(_mm256_blendv_epi8(rounded, quiet, is_nan));
  }
  // round_trip without the NaN rule: 5 integer operations instead of 10. Equal to round_trip in every
  // lane that is not NaN. A quiet NaN lane (every NaN an arithmetic instruction returns) comes out as a
  // NaN, or as a signed zero when the rounding carry runs through bits 16-30 into the sign bit; never
  // an infinity or a number (a signalling NaN could become an infinity). Only for a caller whose
  // outputs cannot tell those apart (rmsnorm_quantize_avx2.cpp says why its cannot).
  static __m256 round_trip_unchecked(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i biased = _mm256_add_epi32(u, _mm256_set1_epi32(0x7fff));
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_add_epi32(biased, lsb), _mm256_set1_epi32(int(0xffff0000u))));
  }
};

// Sixteen bf16 elements widened with two in-lane unpacks under a zero word (the same f32 values as
// Io<bf16>::load gives, in 2 operations instead of vpmovzxwd + vpslld twice), in the unpacks' order:
// *lo holds elements 0-3 and 8-11, *hi elements 4-7 and 12-15. For loops where the order of the
// elements within a group does not change a result (a maximum, per-lane sums whose lanes are put back
// in place, codes whose bytes are put back in place by pack32's final permutation).
inline void widen16_bf16_unordered(const uint16_t* p, __m256* lo, __m256* hi) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i zero = _mm256_setzero_si256();
  *lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
  *hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
}

// The first n (< 8) elements through a zero-padded buffer; lanes n..7 read as +0.
template <class IO>
__m256 load_partial(const typename IO::storage* p, int64_t n) {
  typename IO::storage buf[8] = {};
  std::memcpy(buf, p, std::size_t(n) * sizeof buf[0]);
  return IO::load(buf);
}
template <class IO>
void store_partial(typename IO::storage* p, __m256 v, int64_t n) {
  typename IO::storage buf[8];
  IO::store(buf, v);
  std::memcpy(p, buf, std::size_t(n) * sizeof buf[0]);
}

// Software prefetch of kBytes bytes from p, one per 64-byte line: a row loop that works on cached data
// (a second pass over a row buffer) asks for the next row meanwhile, so that the memory system is not
// idle while it computes and the next row's first pass finds its lines in cache.
template <int kBytes>
inline void prefetch_lines(const void* p) {
  for (int b = 0; b < kBytes; b += 64) _mm_prefetch(static_cast<const char*>(p) + b, _MM_HINT_T0);
}

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
// The largest of the 8 lanes (max is exact, so the reduction order does not matter).
inline float horizontal_max(__m256 m) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

// rintf.
inline __m256 round_half_even(__m256 v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// roundf: trunc(v), plus sign(v) when the exact fraction v - trunc(v) is at least one half.
inline __m256 round_half_away(__m256 v) {
  __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m256 frac = abs_ps(_mm256_sub_ps(v, t));
  __m256 step = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
  __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_blendv_ps(t, _mm256_add_ps(t, step), up);
}
inline __m256 round_with(__m256 v, Rounding r) {
  return r == Rounding::half_even ? round_half_even(v) : round_half_away(v);
}

// Low bytes of eight int32 lanes, in order, in the low 8 bytes of the result.
inline __m128i low_bytes(__m256i i) {
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  __m256i b = _mm256_shuffle_epi8(i, pick);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

// The saturating clamp fminf(fmaxf(v, -128), 127) with NaN kept: maxps and minps return their second
// operand when either is NaN, so with the bound first a NaN lane stays NaN, and cvttps2dq turns it into
// INT32_MIN, whose low byte is 0: the saturating store's NaN rule (numerics::store_int8, cvt.rni.sat.s8.f32
// gives 0 for NaN) at no extra instruction. Every other lane is in [-128, 127].
inline __m256 clamp_keeping_nan(__m256 v) {
  return _mm256_min_ps(_mm256_set1_ps(127.0f), _mm256_max_ps(_mm256_set1_ps(-128.0f), v));
}

// numerics::store_int8 of eight rounded values, as the low byte of an int32 lane. saturate:
// clamp_keeping_nan (NaN -> INT32_MIN -> 0); none: cvtps2dq (NaN and out-of-range give INT32_MIN, as the
// scalar code spells out).
inline __m128i store_int8(__m256 rounded, Clamp clamp) {
  if (clamp == Clamp::saturate) {
    const __m256 c = clamp_keeping_nan(rounded);
    return low_bytes(_mm256_cvttps_epi32(c));
  }
  return low_bytes(_mm256_cvtps_epi32(rounded));
}
inline void store8_int8(int8_t* q, __m128i bytes) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), bytes); }
inline void store_partial_int8(int8_t* q, __m128i bytes, int64_t n) {
  alignas(16) int8_t buf[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(buf), bytes);
  std::memcpy(q, buf, std::size_t(n));
}

// Calls fn(Io<T>{}) for a floating dtype (validated by the caller).
template <class Fn>
void visit_float(DType t, Fn&& fn) {
  switch (t) {
    case DType::f16: fn(Io<DType::f16>{}); break;
    case DType::bf16: fn(Io<DType::bf16>{}); break;
    default: fn(Io<DType::f32>{}); break;
  }
}

}  // namespace
}  // namespace smoothcheck::kernels::cpu::avx2
