// The int8 code loop shared by the AVX2 quantisation kernels (per token, per tensor, fused RMSNorm):
// numerics::quantize_value on eight lanes, with the caller's options made template parameters so
// that the inner loop carries no option branches, and 32 codes assembled per store by integer packs.
//
// The packs change only how the bytes are gathered, never a value. With Clamp::saturate every lane is
// in [-128, 127] (clamped as float before the conversion, as store_int8 does) or INT32_MIN for NaN
// (dtype_io_avx2.h clamp_keeping_nan): the signed saturating int32 -> int16 pack keeps the first and
// makes the second -32768, and the code is then the low byte of each int16 (NaN -> 0, cvt.rni.sat),
// taken by a mask before the unsigned int16 -> int8 pack. With Clamp::none the code is the low byte of
// the int32 (numerics.h's wrap-around store), masked to [0, 255] before unsigned saturating packs,
// which are then exact too. Include from *_avx2.cpp files only (internal linkage, like dtype_io_avx2.h).
#pragma once

#include <type_traits>

#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

template <ScaleMath kMath, Rounding kRounding, Clamp kClamp>
struct CodeMath {
  static constexpr Clamp clamp = kClamp;
  __m256 by;
  CodeMath(float scale, float inv_scale) : by(_mm256_set1_ps(kMath == ScaleMath::divide ? scale : inv_scale)) {}

  // int32 lanes whose low byte is the code.
  __m256i lanes(__m256 v) const {
    v = kMath == ScaleMath::divide ? _mm256_div_ps(v, by) : _mm256_mul_ps(v, by);
    const __m256 r = kRounding == Rounding::half_even ? round_half_even(v) : round_half_away(v);
    if (kClamp == Clamp::saturate)  // as store_int8: [-128, 127], NaN -> INT32_MIN (low byte 0)
      return _mm256_cvttps_epi32(clamp_keeping_nan(r));
    return _mm256_and_si256(_mm256_cvtps_epi32(r), _mm256_set1_epi32(0xff));
  }
};

// Calls fn(CodeMath<...>{scale, inv_scale}) for the options' combination.
template <class Fn>
void with_code_math(const ActQuantOptions& o, float scale, float inv_scale, Fn&& fn) {
  auto clamp = [&](auto math, auto rounding) {
    constexpr ScaleMath m = decltype(math)::value;
    constexpr Rounding r = decltype(rounding)::value;
    if (o.clamp == Clamp::saturate) fn(CodeMath<m, r, Clamp::saturate>(scale, inv_scale));
    else fn(CodeMath<m, r, Clamp::none>(scale, inv_scale));
  };
  auto rounding = [&](auto math) {
    if (o.rounding == Rounding::half_even) clamp(math, std::integral_constant<Rounding, Rounding::half_even>{});
    else clamp(math, std::integral_constant<Rounding, Rounding::half_away>{});
  };
  if (o.math == ScaleMath::divide) rounding(std::integral_constant<ScaleMath, ScaleMath::divide>{});
  else rounding(std::integral_constant<ScaleMath, ScaleMath::reciprocal_multiply>{});
}

// 32 codes in order from four vectors of lanes (a holds elements 0-7, b 8-15, ...; with kUnpackOrder,
// widen16_bf16_unordered's order: a 0-3 and 8-11, b 4-7 and 12-15, c 16-19 and 24-27, d 20-23 and 28-31).
template <Clamp kClamp, bool kUnpackOrder = false>
__m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
  __m256i bytes;
  if (kClamp == Clamp::saturate) {
    const __m256i low = _mm256_set1_epi16(0xff);
    bytes = _mm256_packus_epi16(_mm256_and_si256(_mm256_packs_epi32(a, b), low),
                                _mm256_and_si256(_mm256_packs_epi32(c, d), low));
  } else {
    bytes = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
  }
  // The packs work per 128-bit half: dwords come out as a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7 (lanes),
  // which in the unpack order are elements 0-3 4-7 16-19 20-23 | 8-11 12-15 24-27 28-31.
  if (kUnpackOrder) return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The next row a row loop will read, prefetched while the current row's code pass runs from cache
// (dtype_io_avx2.h prefetch_lines says why): two lines per group of 32 elements, from a pointer that
// advances by the group's size in the next row's dtype (64 bytes for bf16/f16, where the second line
// is the next group's, fetched a group early, and for the last group a line past the row: a prefetch
// never faults; 128 for f32). 3 instructions a group, no branch.
class NextRow {
 public:
  NextRow(const void* next, int64_t element_bytes)
      : p_(static_cast<const char*>(next)), step_(32 * element_bytes) {}
  void fetch_group() {
    _mm_prefetch(p_, _MM_HINT_T0);
    _mm_prefetch(p_ + 64, _MM_HINT_T0);
    p_ += step_;
  }

 private:
  const char* p_;
  int64_t step_;
};

// q[0, n) = codes of the values src.full(j) (eight at j) / src.partial(j, k) (the last k < 8);
// kAhead: each group of 32 also prefetches from `next` (a loop without it carries no prefetch).
template <bool kAhead = false, class Math, class Source>
void quantize_span(const Math& math, const Source& src, int64_t n, int8_t* q, NextRow next = {nullptr, 0}) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    if (kAhead) next.fetch_group();
    __m256i codes;
    if constexpr (Source::kUnpackGroups) {
      __m256 v[4];
      src.group32(j, v);
      codes = pack32<Math::clamp, true>(math.lanes(v[0]), math.lanes(v[1]), math.lanes(v[2]), math.lanes(v[3]));
    } else {
      codes = pack32<Math::clamp>(math.lanes(src.full(j)), math.lanes(src.full(j + 8)), math.lanes(src.full(j + 16)),
                                  math.lanes(src.full(j + 24)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j), codes);
  }
  for (; j + 8 <= n; j += 8) store8_int8(q + j, low_bytes(math.lanes(src.full(j))));
  if (j < n) store_partial_int8(q + j, low_bytes(math.lanes(src.partial(j, n - j))), n - j);
}

// A row of floats as a Source: IO::load, optionally times a per-element f32 factor.
template <class IO, bool kScaled>
struct RowSource {
  // An unscaled bf16 row gives its groups of 32 in the unpacks' order (each code depends on its own
  // element only, and pack32 puts the bytes back in place): one operation less per 8 elements.
  static constexpr bool kUnpackGroups = std::is_same_v<IO, Io<DType::bf16>> && !kScaled;
  const typename IO::storage* x;
  const float* factor;  // used when kScaled
  void group32(int64_t j, __m256* v) const {
    widen16_bf16_unordered(x + j, &v[0], &v[1]);
    widen16_bf16_unordered(x + j + 16, &v[2], &v[3]);
  }
  __m256 full(int64_t j) const {
    const __m256 v = IO::load(x + j);
    return kScaled ? _mm256_mul_ps(v, _mm256_loadu_ps(factor + j)) : v;
  }
  __m256 partial(int64_t j, int64_t k) const {
    const __m256 v = load_partial<IO>(x + j, k);
    if (!kScaled) return v;
    float f[8] = {};
    std::memcpy(f, factor + j, std::size_t(k) * sizeof(float));
    return _mm256_mul_ps(v, _mm256_loadu_ps(f));
  }
};

}  // namespace
}  // namespace smoothcheck::kernels::cpu::avx2
