// The AVX2/FMA/F16C inner loops, one group per step, defined in the matching *_avx2.cpp (compiled with
// -mavx2 -mfma -mf16c) and called by the step's driver only when cpu_supports_avx2(). Each computes
// exactly what the portable loop beside its driver computes, element for element (numerics.h's
// formulas, vectorised), so the two paths agree bit for bit.
//
// Plain declarations only: a *_avx2.cpp must not odr-use an inline function or template that a
// portable translation unit also uses (numerics.h, dtype_io.h, the standard containers), or the
// linker may keep its AVX2 copy for the portable path. The AVX2 files use intrinsics, memcpy and
// their own internal-linkage helpers (dtype_io_avx2.h) only.
#pragma once

#include <cstdint>

#include "kernels/options.h"

namespace smoothcheck::kernels::cpu::avx2 {

// ---- channel_stats: columns [0, n) of `rows` rows, accumulated into arrays indexed from 0 -------
void channel_stats_block(const void* x, DType t, int64_t rows, int64_t row_stride, int64_t n, float* absmax,
                         float* min, float* max, double* sum, double* abssum);

// ---- weight_stat --------------------------------------------------------------------------------
// absmax[j] = max(absmax[j], |w[r, j]|) over the rows, columns [0, n).
void column_absmax_block(const void* w, DType t, int64_t rows, int64_t row_stride, int64_t n, float* absmax);
// acc[j] += double(|w_j| / amax[(c0 + j) / group]) for j in [0, n), w pointing at column c0, each
// quotient rounded to `arithmetic` (f32: as it is).
void accumulate_normalized(const void* w, DType t, int64_t c0, int64_t n, const float* amax, int64_t group,
                           DType arithmetic, double* acc);

// ---- apply_smoothing ----------------------------------------------------------------------------
void scale_row(void* row, DType t, const float* s, int64_t n);  // row_j = dtype(row_j * s_j)
void divide_row(void* row, DType t, float s, int64_t n);        // row_j = dtype(row_j / s)

// ---- quantisation (per token, per tensor, weights) -----------------------------------------------
// max_j |x_j * recip_j| (recip may be null: max_j |x_j|).
float absmax_row(const void* x, DType t, const float* recip, int64_t n);
// y_j = x_j * recip_j as f32 into y[0, n) (the migration step, done once per row); returns max_j |y_j|.
float scaled_absmax_row(const void* x, DType t, const float* recip, int64_t n, float* y);
// q_j = quantize_value(x_j * recip_j, {scale, inv_scale}, o); scale != 0. next: the row (of dtype
// next_t, n elements) the caller reads after this one, prefetched meanwhile; or null.
void quantize_row(const void* x, DType t, const float* recip, int64_t n, float scale, float inv_scale,
                  const ActQuantOptions& o, int8_t* q, const void* next = nullptr, DType next_t = DType::f32);
// q_j = weight_code(w_j, scale, variant, arithmetic); scale != 0.
void weight_code_row(const void* w, DType t, int64_t n, float scale, WeightQuant variant, DType arithmetic,
                     int8_t* q);

// ---- rmsnorm_quantize ---------------------------------------------------------------------------
// The kRmsLanes (32) partial sums of x_j^2 (fma), element j in lane j % 32, before the halving tree.
void rms_lanes(const void* x, DType t, int64_t n, float* lanes);
// y_j = dtype(w_j * (x_j * inv)) as f32 into y[0, n); returns max_j |y_j|. The codes are then
// quantize_row(y, DType::f32, nullptr, ...). next: the row to be read after this one (prefetched while
// this one is normalised), or null.
float rms_normalize_row(const void* x, DType t, const void* w, DType wt, int64_t n, float inv, float* y,
                        const void* next);

// ---- gemm_s8s8s32 -------------------------------------------------------------------------------
constexpr int kGemmMr = 4;   // rows of the microkernel tile
constexpr int kGemmNr = 16;  // columns: two ymm of eight int32 accumulators
// One panel of kGemmNr rows of b [N, K] (rows >= count are zero), all of K, as int16 pairs:
// dst[(p * kGemmNr + n) * 2 + i] = b[n, 2p + i], K padded to even with zeros. Same layout for A with
// kGemmMr rows (pack_a_panel).
void pack_b_panel(const int8_t* b, int64_t ldb, int64_t count, int64_t k, int16_t* dst);
void pack_a_panel(const int8_t* a, int64_t lda, int64_t count, int64_t k, int16_t* dst);
// The same panel of b kept as int8 (a prepacked weight: half the bytes to stream from memory):
// dst[(p * kGemmNr + n) * 2 + i] = b[n, 2p + i] as int8, element for element the int16 layout above.
void pack_b_panel_i8(const int8_t* b, int64_t ldb, int64_t count, int64_t k, int8_t* dst);
// c[mpanels * kGemmMr, npanels * kGemmNr] (+)= A · Bᵀ over `kpairs` k-pairs, for packed panels
// (consecutive panels `a_stride` / `b_stride` int16 apart, already offset to the first k-pair).
void gemm_block(const int16_t* a, int64_t a_stride, int64_t mpanels, const int16_t* b, int64_t b_stride,
                int64_t npanels, int64_t kpairs, int32_t* c, int64_t ldc, bool accumulate);
// The same for one b panel (npanels = 1) that is made on the way: the first a panel's pass widens the
// prepacked int8 panel b8 (pack_b_panel_i8's layout, offset to the first k-pair) into b (kpairs pairs),
// which the other a panels then read.
void gemm_block_widening(const int16_t* a, int64_t a_stride, int64_t mpanels, const int8_t* b8, int16_t* b,
                         int64_t kpairs, int32_t* c, int64_t ldc, bool accumulate);
// One output row of the fused epilogue: out_j = epilogue(acc_j, sa, sb_j, bias_j) in out_dtype.
// bias (out_dtype, may be null) and sb point at column 0 of the row's range.
void epilogue_row(const int32_t* acc, int64_t n, float sa, const float* sb, const void* bias, DType out_dtype,
                  Epilogue epilogue, void* out);

}  // namespace smoothcheck::kernels::cpu::avx2
