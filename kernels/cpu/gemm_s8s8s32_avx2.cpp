// The AVX2 int8 GEMM pieces (GotoBLAS structure, driven by gemm_s8s8s32.cpp): int8 -> int16 panel
// packing, a 4x16 microkernel on vpmaddwd, and the fused epilogue (vLLM's: one vfmadd).
//
// vpmaddwd multiplies sign-extended int16 pairs and adds each pair into an int32 exactly
// (|a0*b0 + a1*b1| <= 2 * 128 * 128), so the accumulators are exact while K * 128 * 128 < 2^31.
// vpmaddubsw is not used: it saturates its int16 pair sums (255 * 127 * 2 > 32767).
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/dtype_io_avx2.h"

namespace smoothcheck::kernels::cpu::avx2 {
namespace {

// Rows [row0, row1) and pairs [p0, pairs) of a panel of `width` rows, element by element.
void pack_scalar(const int8_t* src, int64_t ld, int64_t count, int64_t k, int width, int64_t row0, int64_t row1,
                 int64_t p0, int64_t pairs, int16_t* dst) {
  for (int64_t p = p0; p < pairs; ++p)
    for (int64_t n = row0; n < row1; ++n)
      for (int64_t i = 0; i < 2; ++i) {
        const int64_t kk = 2 * p + i;
        dst[(p * width + n) * 2 + i] = (n < count && kk < k) ? int16_t(src[n * ld + kk]) : int16_t(0);
      }
}

// Eight full rows, 16 k at a time: sign-extend each row's 16 int8 to 8 int16 pairs, then an 8x8
// transpose of the 32-bit pairs gives, for each pair p, the eight rows' pairs side by side.
int64_t pack_eight_rows(const int8_t* src, int64_t ld, int64_t k, int width, int64_t row0, int16_t* dst) {
  int64_t kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    __m256i r[8];
    for (int n = 0; n < 8; ++n)
      r[n] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (row0 + n) * ld + kk)));
    __m256i t[8], u[8];
    for (int n = 0; n < 8; n += 2) {
      t[n] = _mm256_unpacklo_epi32(r[n], r[n + 1]);
      t[n + 1] = _mm256_unpackhi_epi32(r[n], r[n + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
      u[h + 0] = _mm256_unpacklo_epi64(t[h + 0], t[h + 2]);
      u[h + 1] = _mm256_unpackhi_epi64(t[h + 0], t[h + 2]);
      u[h + 2] = _mm256_unpacklo_epi64(t[h + 1], t[h + 3]);
      u[h + 3] = _mm256_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    const int64_t p = kk / 2;
    for (int q = 0; q < 4; ++q) {
      __m256i lo = _mm256_permute2x128_si256(u[q], u[q + 4], 0x20);  // pair p + q
      __m256i hi = _mm256_permute2x128_si256(u[q], u[q + 4], 0x31);  // pair p + q + 4
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + ((p + q) * width + row0) * 2), lo);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + ((p + q + 4) * width + row0) * 2), hi);
    }
  }
  return kk / 2;  // pairs done
}

// A panel of exactly four full rows (a's panels, kGemmMr = 4), 16 k at a time: the same widening, then a
// 4x8 transpose of the 32-bit pairs (each 128-bit lane holds four rows of one pair).
int64_t pack_four_rows(const int8_t* src, int64_t ld, int64_t k, int16_t* dst) {
  int64_t kk = 0;
  for (; kk + 16 <= k; kk += 16) {
    __m256i r[4];
    for (int n = 0; n < 4; ++n)
      r[n] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n * ld + kk)));
    const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // pairs 0 | 4
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // pairs 1 | 5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // pairs 2 | 6
    const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // pairs 3 | 7
    auto* out = reinterpret_cast<__m256i*>(dst + (kk / 2) * 4 * 2);
    _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(u0, u1, 0x20));  // pairs 0, 1
    _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(u2, u3, 0x20));  // pairs 2, 3
    _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(u0, u1, 0x31));  // pairs 4, 5
    _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(u2, u3, 0x31));  // pairs 6, 7
  }
  return kk / 2;  // pairs done
}

void pack_panel(const int8_t* src, int64_t ld, int64_t count, int64_t k, int width, int16_t* dst) {
  const int64_t pairs = (k + 1) / 2;
  if (width == 4) {
    const int64_t done = count == 4 ? pack_four_rows(src, ld, k, dst) : 0;
    pack_scalar(src, ld, count, k, width, 0, 4, done, pairs, dst);
    return;
  }
  for (int64_t row0 = 0; row0 < width; row0 += 8) {
    const int64_t row1 = row0 + 8 < width ? row0 + 8 : width;
    int64_t done = 0;
    if (row1 - row0 == 8 && row1 <= count) done = pack_eight_rows(src, ld, k, width, row0, dst);
    pack_scalar(src, ld, count, k, width, row0, row1, done, pairs, dst);
  }
}

// One row of one pair (asm text): the row's a pair, at address `a_pair`, broadcast, times both b
// vectors, added into the row's two accumulators c0 and c1.
#define SMOOTHCHECK_GEMM_ROW(a_pair, c0, c1)                                                                 \
  "vpbroadcastd " a_pair ", %[av]\n\t"                                                                      \
  "vpmaddwd %[b0], %[av], %[t0]\n\t"                                                                        \
  "vpmaddwd %[b1], %[av], %[t1]\n\t"                                                                        \
  "vpaddd %[t0], %[" c0 "], %[" c0 "]\n\t"                                                                  \
  "vpaddd %[t1], %[" c1 "], %[" c1 "]\n\t"
// The four rows of one pair, their a pairs at the four addresses given.
#define SMOOTHCHECK_GEMM_FOUR_ROWS_AT(r0, r1, r2, r3)                                                         \
  SMOOTHCHECK_GEMM_ROW(r0, "c00", "c01") SMOOTHCHECK_GEMM_ROW(r1, "c10", "c11")                             \
  SMOOTHCHECK_GEMM_ROW(r2, "c20", "c21") SMOOTHCHECK_GEMM_ROW(r3, "c30", "c31")
// The two b vectors of a pair: loaded (the int16 panel), or widened from the int8 panel and stored to
// the int16 one for the block's other a panels.
#define SMOOTHCHECK_GEMM_LOAD_B(b_lo, b_hi) "vmovdqu " b_lo ", %[b0]\n\t" "vmovdqu " b_hi ", %[b1]\n\t"
#define SMOOTHCHECK_GEMM_WIDEN_B(b8_lo, b8_hi, out_lo, out_hi)                                                \
  "vpmovsxbw " b8_lo ", %[b0]\n\t" "vpmovsxbw " b8_hi ", %[b1]\n\t"                                        \
  "vmovdqu %[b0], " out_lo "\n\t" "vmovdqu %[b1], " out_hi "\n\t"
#define SMOOTHCHECK_GEMM_ACCUMULATORS                                                                         \
  [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20), [c21] "+x"(c21),     \
      [c30] "+x"(c30), [c31] "+x"(c31), [b0] "=&x"(b0), [b1] "=&x"(b1), [av] "=&x"(av), [t0] "=&x"(t0),      \
      [t1] "=&x"(t1)

// c[4][16] (+)= a-panel · b-panel over kpairs >= 1 pairs. Per pair: the two b vectors (16 columns of
// int16 pairs) loaded once, each row's a pair broadcast, and per row and vector one vpmaddwd and one vpaddd
// into its accumulator: 8 of each for 2 + 4 loads. The pair loop is inline asm because GCC 12,
// given intrinsics for it, keeps the sums in other registers and copies them back into the accumulators
// each pair (8 vmovdqa per 8 vpmaddwd; objdump), which costs issue slots the multiplies need. The
// accumulators are plain operands: the compiler initialises them and stores them as it likes.
// Widening: b is not read but made, pair by pair, from the prepacked int8 panel `b8` (vpmovsxbw: the int16
// panel layout is the int8 one, element for element) and written to b for the block's other a panels,
// so that no separate pass waits on b8's lines from memory while the multipliers idle.
// The widening pass also prefetches b8 at two fixed distances ahead, one line (two pairs) per pass: at
// decode b8 comes from DRAM once and nothing else reads it, and the panels a thread walks at decode lie
// end to end (one tile's panels, each front to back, then the next tile's), so the distance holds
// across slices and panels (a prefetch past the end of the weight is harmless: it never faults).
// L2 16 KiB ahead (two decode slices of kKcShortBlock k x 16 columns), L1 4 KiB. Against
// whole-slice prefetches issued before each call, which queued on the fill buffers:
// M 16 x N 11008 x K 4096 prepacked, 2 threads, alternating runs: 178-181 -> 222-249 GOP/s.
// The loop runs two pairs per pass on one induction register, the byte offset i into a: b8 lies at 2i
// and b at 4i, so one add and one fused compare-and-branch serve 16 vpmaddwd, where two or three pointer
// adds and a loop test served 8 (M 16 x N 256 x K 4096 in L2, one core: 135-140 -> 140-146 GOP/s). An
// odd count's last pair runs alone.
constexpr int kWidenL1Ahead = 4096;   // bytes of b8
constexpr int kWidenL2Ahead = 16384;
template <bool Widening>
void microkernel(int64_t kpairs, const int16_t* a, const int16_t* b, const int8_t* b8, int32_t* c, int64_t ldc,
                 bool accumulate) {
  static_assert(kGemmMr == 4 && kGemmNr == 16, "the pair loop below is written out for a 4 x 16 microtile");
  __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256(), c10 = _mm256_setzero_si256(),
          c11 = _mm256_setzero_si256(), c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256(),
          c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
  __m256i b0, b1, av, t0, t1;
  int16_t* out = const_cast<int16_t*>(b);  // Widening: where the int16 panel is written
  const int64_t even = kpairs & ~int64_t(1);
  if (even > 0) {
    int64_t i = 0;
    const int64_t end = even * 16;  // bytes of a: 4 rows x 2 int16 per pair
    if constexpr (Widening)
      asm("1:\n\t"
          SMOOTHCHECK_GEMM_WIDEN_B("(%[b8],%[i],2)", "16(%[b8],%[i],2)", "(%[out],%[i],4)", "32(%[out],%[i],4)")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("(%[a],%[i])", "4(%[a],%[i])", "8(%[a],%[i])", "12(%[a],%[i])")
          SMOOTHCHECK_GEMM_WIDEN_B("32(%[b8],%[i],2)", "48(%[b8],%[i],2)", "64(%[out],%[i],4)", "96(%[out],%[i],4)")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("16(%[a],%[i])", "20(%[a],%[i])", "24(%[a],%[i])", "28(%[a],%[i])")
          "prefetcht0 %c[l1_ahead](%[b8],%[i],2)\n\t"
          "prefetcht1 %c[l2_ahead](%[b8],%[i],2)\n\t"
          "add $32, %[i]\n\t"
          "cmp %[end], %[i]\n\t"
          "jne 1b"
          : SMOOTHCHECK_GEMM_ACCUMULATORS, [i] "+r"(i)
          : [a] "r"(a), [b8] "r"(b8), [out] "r"(out), [end] "r"(end), [l1_ahead] "i"(kWidenL1Ahead),
            [l2_ahead] "i"(kWidenL2Ahead)
          : "memory", "cc");
    else
      asm("1:\n\t"
          SMOOTHCHECK_GEMM_LOAD_B("(%[b],%[i],4)", "32(%[b],%[i],4)")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("(%[a],%[i])", "4(%[a],%[i])", "8(%[a],%[i])", "12(%[a],%[i])")
          SMOOTHCHECK_GEMM_LOAD_B("64(%[b],%[i],4)", "96(%[b],%[i],4)")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("16(%[a],%[i])", "20(%[a],%[i])", "24(%[a],%[i])", "28(%[a],%[i])")
          "add $32, %[i]\n\t"
          "cmp %[end], %[i]\n\t"
          "jne 1b"
          : SMOOTHCHECK_GEMM_ACCUMULATORS, [i] "+r"(i)
          : [a] "r"(a), [b] "r"(b), [end] "r"(end)
          : "memory", "cc");
    a += even * 8;  // elements per pair: a 4 x 2, b8 and b 16 x 2
    if constexpr (Widening) {
      b8 += even * 32;
      out += even * 32;
    } else {
      b += even * 32;
    }
  }
  if (kpairs & 1) {
    if constexpr (Widening)
      asm(SMOOTHCHECK_GEMM_WIDEN_B("(%[b8])", "16(%[b8])", "(%[out])", "32(%[out])")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("(%[a])", "4(%[a])", "8(%[a])", "12(%[a])")
          : SMOOTHCHECK_GEMM_ACCUMULATORS
          : [a] "r"(a), [b8] "r"(b8), [out] "r"(out)
          : "memory");
    else
      asm(SMOOTHCHECK_GEMM_LOAD_B("(%[b])", "32(%[b])")
          SMOOTHCHECK_GEMM_FOUR_ROWS_AT("(%[a])", "4(%[a])", "8(%[a])", "12(%[a])")
          : SMOOTHCHECK_GEMM_ACCUMULATORS
          : [a] "r"(a), [b] "r"(b)
          : "memory");
  }
  const __m256i rows[kGemmMr][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (int i = 0; i < kGemmMr; ++i)
    for (int h = 0; h < 2; ++h) {
      auto* dst = reinterpret_cast<__m256i*>(c + i * ldc + 8 * h);
      __m256i v = rows[i][h];
      if (accumulate) v = _mm256_add_epi32(v, _mm256_loadu_si256(dst));
      _mm256_storeu_si256(dst, v);
    }
}
#undef SMOOTHCHECK_GEMM_ROW
#undef SMOOTHCHECK_GEMM_FOUR_ROWS_AT
#undef SMOOTHCHECK_GEMM_LOAD_B
#undef SMOOTHCHECK_GEMM_WIDEN_B
#undef SMOOTHCHECK_GEMM_ACCUMULATORS

template <class IO>
void epilogue(const int32_t* acc, int64_t n, float sa, const float* sb, const typename IO::storage* bias,
              Epilogue kind, typename IO::storage* out) {
  const __m256 vsa = _mm256_set1_ps(sa);
  auto value = [&](__m256 accf, __m256 vsb, __m256 vbias) {
    // vLLM: fma(sa, sb * acc, bias) in f32, the product not rounded before the bias (numerics::
    // epilogue_vllm; CUTLASS multiply_add in vLLM's scaled_mm_epilogues_c3x.hpp ScaledEpilogueBias).
    if (kind == Epilogue::vllm) return _mm256_fmadd_ps(vsa, _mm256_mul_ps(vsb, accf), vbias);
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(accf, vsa), vsb);  // lmdeploy: out(acc * sa * sb) ...
    return bias ? _mm256_add_ps(IO::round_trip(y), vbias) : y;  // ... then + bias in the output dtype
  };
  // Without a bias the vLLM fma adds -0.0f, which leaves the rounded product (zeros' signs included) as is.
  const __m256 no_bias = _mm256_set1_ps(-0.0f);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 accf = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j)));
    IO::store(out + j, value(accf, _mm256_loadu_ps(sb + j), bias ? IO::load(bias + j) : no_bias));
  }
  if (j < n) {
    const int64_t k = n - j;
    int32_t a8[8] = {};
    float s8[8] = {};
    std::memcpy(a8, acc + j, std::size_t(k) * sizeof(int32_t));
    std::memcpy(s8, sb + j, std::size_t(k) * sizeof(float));
    __m256 accf = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a8)));
    store_partial<IO>(out + j, value(accf, _mm256_loadu_ps(s8), bias ? load_partial<IO>(bias + j, k) : no_bias), k);
  }
}

}  // namespace

void pack_b_panel(const int8_t* b, int64_t ldb, int64_t count, int64_t k, int16_t* dst) {
  pack_panel(b, ldb, count, k, kGemmNr, dst);
}

void pack_a_panel(const int8_t* a, int64_t lda, int64_t count, int64_t k, int16_t* dst) {
  pack_panel(a, lda, count, k, kGemmMr, dst);
}

void pack_b_panel_i8(const int8_t* b, int64_t ldb, int64_t count, int64_t k, int8_t* dst) {
  // Through the int16 packing, a slice of kSlicePairs pairs at a time (16 KiB on the stack), then each
  // pair's 32 values narrowed back: they are int8 values, so the saturating pack is exact.
  constexpr int64_t kSlicePairs = 256;
  alignas(32) int16_t slice[kSlicePairs * 2 * kGemmNr];
  const int64_t pairs = (k + 1) / 2;
  for (int64_t p0 = 0; p0 < pairs; p0 += kSlicePairs) {
    const int64_t np = pairs - p0 < kSlicePairs ? pairs - p0 : kSlicePairs;
    const int64_t k0 = 2 * p0, kk = k - k0 < 2 * np ? k - k0 : 2 * np;
    pack_panel(b + k0, ldb, count, kk, kGemmNr, slice);
    for (int64_t p = 0; p < np; ++p) {
      const __m256i lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(slice + p * 2 * kGemmNr));
      const __m256i hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(slice + p * 2 * kGemmNr + 16));
      // packs works within 128-bit lanes: [lo 0-7, hi 0-7 | lo 8-15, hi 8-15]; the permute restores order.
      const __m256i bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (p0 + p) * 2 * kGemmNr), bytes);
    }
  }
}

void gemm_block(const int16_t* a, int64_t a_stride, int64_t mpanels, const int16_t* b, int64_t b_stride,
                int64_t npanels, int64_t kpairs, int32_t* c, int64_t ldc, bool accumulate) {
  // The b panel slice (kpairs x 16 pairs, <= 8 KiB) stays in L1 while every a panel of the block
  // streams past it from L2.
  for (int64_t jr = 0; jr < npanels; ++jr)
    for (int64_t ir = 0; ir < mpanels; ++ir)
      microkernel<false>(kpairs, a + ir * a_stride, b + jr * b_stride, nullptr, c + ir * kGemmMr * ldc + jr * kGemmNr,
                         ldc, accumulate);
}

void gemm_block_widening(const int16_t* a, int64_t a_stride, int64_t mpanels, const int8_t* b8, int16_t* b,
                         int64_t kpairs, int32_t* c, int64_t ldc, bool accumulate) {
  microkernel<true>(kpairs, a, b, b8, c, ldc, accumulate);
  for (int64_t ir = 1; ir < mpanels; ++ir)
    microkernel<false>(kpairs, a + ir * a_stride, b, nullptr, c + ir * kGemmMr * ldc, ldc, accumulate);
}

void epilogue_row(const int32_t* acc, int64_t n, float sa, const float* sb, const void* bias, DType out_dtype,
                  Epilogue kind, void* out) {
  visit_float(out_dtype, [&](auto io) {
    using IO = decltype(io);
    using S = typename IO::storage;
    epilogue<IO>(acc, n, sa, sb, static_cast<const S*>(bias), kind, static_cast<S*>(out));
  });
}

}  // namespace smoothcheck::kernels::cpu::avx2
