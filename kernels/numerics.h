// Per-element numerics shared by every production backend (CPU and CUDA), so that both produce the
// same int8 codes and the same epilogue values bit for bit. The reference does not use this header:
// it computes the same quantities independently in float64 (design.md, "two independent computations").
//
// Every function here is written so that its result does not depend on the compiler or the device:
// no fused multiply-add unless named (fmaf), IEEE-correct division and square root, and round-to-
// nearest-even conversions. Host code that uses it is compiled with -ffp-contract=off.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/options.h"

#if defined(__CUDACC__)
#define SC_HD __host__ __device__ __forceinline__
#else
#define SC_HD inline
#endif

namespace smoothcheck::numerics {

// ---- arithmetic that must not be contracted or approximated -------------------------------------
SC_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SC_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
SC_HD float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
// a * b + c with one rounding (IEEE fusedMultiplyAdd), named where a public implementation fuses
// (vLLM's CUTLASS multiply_add): std::fmaf is correctly rounded on the host, FFMA on the device.
SC_HD float fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fmaf(a, b, c);
#endif
}
SC_HD float sqrt_rn(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

SC_HD uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
SC_HD float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// ---- 16-bit floats, stored as raw bits -------------------------------------------------------------
// bf16 -> f32 is exact: the bf16 bits are the top half of the f32 bits.
SC_HD float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

// f32 -> bf16, round to nearest even; NaN stays a quiet NaN (as torch and __float2bfloat16_rn do).
SC_HD uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);
  uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return uint16_t((u + rounding_bias) >> 16);
}

// f16 -> f32 is exact (normals, subnormals, inf, NaN), the same as F16C's vcvtph2ps.
SC_HD float f16_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  // inf, or a NaN with its payload; a signalling NaN comes back quiet (bit 22 set), as vcvtph2ps does.
  if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0u));
  if (exponent == 0) {
    if (mantissa == 0) return bits_float(sign);
    // subnormal: mantissa * 2^-24, exact in f32
    float magnitude = float(mantissa) * 5.9604644775390625e-08f;
    return sign ? -magnitude : magnitude;
  }
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// f32 -> f16, round to nearest even, overflow to inf, the same as F16C's vcvtps2ph with
// _MM_FROUND_TO_NEAREST_INT and CUDA's __float2half_rn.
SC_HD uint16_t float_to_f16(float f) {
  uint32_t u = float_bits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // quiet NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {
    // result is subnormal in f16 (or zero): value / 2^-24 rounded to an integer, half to even.
    // The f32 addition of 0.5 (2^-1) performs exactly that rounding for these magnitudes.
    float magnitude = bits_float(abs);
    float shifted = magnitude * 16777216.0f;  // exact: power-of-two scaling of a normal f32
    uint32_t integer = uint32_t(shifted);
    float remainder = shifted - float(integer);  // exact (Sterbenz)
    if (remainder > 0.5f || (remainder == 0.5f && (integer & 1u))) integer += 1;
    return uint16_t(sign | integer);  // integer == 0x400 carries into the smallest normal, correctly
  }
  uint32_t mantissa_rounding = 0xfffu + ((abs >> 13) & 1u);
  uint32_t rounded = abs + mantissa_rounding;
  return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
}

// ---- rounding and the int8 store ----------------------------------------------------------------
// Half to even: rintf in the default rounding mode; on the device, cvt.rni.
SC_HD float round_half_even(float v) { return rintf(v); }
// Half away from zero: roundf, as lmdeploy's Triton kernel (tl.extra...round) and ggml's Q8_0 do.
SC_HD float round_half_away(float v) { return roundf(v); }

SC_HD float round_with(float v, Rounding r) {
  return r == Rounding::half_even ? round_half_even(v) : round_half_away(v);
}

// The store of a rounded value as int8. With Clamp::saturate the value is clamped to [-128, 127] and
// NaN stores 0: PTX cvt.rni.sat.s8.f32 (vLLM's float_to_int8_rn, csrc/quantization/compressed_tensors/
// int8_quant_kernels.cu; TensorRT-LLM) gives 0 for NaN, and so does torch's .to(torch.int8) on x86
// (lmdeploy QLinear), so the saturating store has one NaN rule. The harness's front door still refuses
// non-finite inputs (harness/checked_ops.h); the kernel-level case tables feed NaN directly. With
// Clamp::none the value goes through int32 and keeps its low byte; NaN and values outside int32 become
// INT32_MIN (x86 cvtps2dq's "integer indefinite"), whose low byte is 0. That path (lmdeploy's Triton
// per_token_quant_int8, the SmoothQuant authors' fake quant) keeps its existing rule: whether Triton's
// NaN-to-int8 cast gives 0 on every GPU is not established here (LLVM's fptosi of NaN is poison);
// PTX cvt.rzi of NaN gives 0, the same code.
SC_HD int8_t store_int8(float rounded, Clamp clamp) {
  if (clamp == Clamp::saturate) {
    if (rounded != rounded) return 0;  // NaN: cvt.rni.sat gives 0 (fmaxf would make it -128)
    float c = fminf(fmaxf(rounded, -128.0f), 127.0f);
    return int8_t(c);
  }
  int32_t wide;
  if (!(rounded >= -2147483648.0f && rounded < 2147483648.0f)) {
    wide = INT32_MIN;
  } else {
    wide = int32_t(rounded);
  }
  return int8_t(uint8_t(uint32_t(wide) & 0xffu));
}

// ---- activation quantisation --------------------------------------------------------------------
struct RowScale {
  float scale;        // stored beside the codes: dequantised x = scale * q
  float inv_scale;    // 127 / absmax, what ScaleMath::reciprocal_multiply multiplies by
};

// numerics.md §6: scale = absmax / 127 and its reciprocal 127 / absmax, both true divisions.
// A zero row (after the optional floor) gives scale 0 and reciprocal 0 (vLLM): its codes are 0.
SC_HD RowScale row_scale_from_absmax(float absmax, const ActQuantOptions& o) {
  if (o.zero_row == ZeroRow::floor) absmax = fmaxf(absmax, o.absmax_floor);
  if (!(absmax > 0.0f)) return RowScale{0.0f, 0.0f};
  return RowScale{div_rn(absmax, 127.0f), div_rn(127.0f, absmax)};
}

// A static per-tensor scale (vLLM's static_scaled_int8_quant divides by it).
SC_HD RowScale row_scale_from_scale(float scale) {
  if (!(scale > 0.0f)) return RowScale{0.0f, 0.0f};
  return RowScale{scale, div_rn(1.0f, scale)};
}

SC_HD int8_t quantize_value(float x, RowScale rs, const ActQuantOptions& o) {
  if (rs.scale == 0.0f) return 0;
  float v = o.math == ScaleMath::divide ? div_rn(x, rs.scale) : mul_rn(x, rs.inv_scale);
  return store_int8(round_with(v, o.rounding), o.clamp);
}

// The migration runtime step multiplies by the f32 reciprocal of s (computed once per channel),
// x' = x * (1/s_j), as the CUDA issue asks; the reference divides, and the comparison tier allows
// the two roundings this adds.
SC_HD float migration_reciprocal(float s) { return div_rn(1.0f, s); }

// ---- weight quantisation (numerics.md §5) ---------------------------------------------------------
// A value rounded to `t` (f32: itself; f16/bf16: to nearest even), still held as a float.
SC_HD float round_to(float v, DType t) {
  if (t == DType::bf16) return bf16_to_float(float_to_bf16(v));
  if (t == DType::f16) return f16_to_float(float_to_f16(v));
  return v;
}

// The dtype a weight quantiser computes its scale and quotients in, for a weight stored as `weight`.
// lmdeploy casts the weight to float32 first (pytorch/kernels/default/w8a8_kernels.py per_channel_quant).
// The SmoothQuant authors' fake quant (smoothquant/fake_quant.py quantize_weight_per_channel_absmax)
// and compressed-tensors (quantization/utils/helpers.py calculate_qparams, lifecycle/forward_helpers.py
// _quantize) work in place in the weight's own dtype: each operation is done in float32 and rounded to
// it, which is what torch's CPU kernels for float16 and bfloat16 tensors compute.
SC_HD DType weight_arithmetic(WeightQuant variant, DType weight) {
  if (variant == WeightQuant::lmdeploy) return DType::f32;
  return weight == DType::f16 || weight == DType::bf16 ? weight : DType::f32;
}

// torch.finfo(t).eps: compressed-tensors' replacement for a zero scale is the eps of the scale's dtype.
SC_HD float dtype_epsilon(DType t) {
  if (t == DType::bf16) return 0.0078125f;       // 2^-7
  if (t == DType::f16) return 0.0009765625f;     // 2^-10
  return FLT_EPSILON;
}

SC_HD float weight_row_scale(float absmax, WeightQuant variant, DType arithmetic) {
  switch (variant) {
    case WeightQuant::lmdeploy: return div_rn(absmax, 127.0f);  // QLinear.from_float
    case WeightQuant::smoothquant:  // fake_quant.py: clamp_(min=1e-5) (the bound cast to the dtype), div_(127)
      return round_to(div_rn(fmaxf(absmax, round_to(1e-5f, arithmetic)), 127.0f), arithmetic);
    case WeightQuant::compressed_tensors: {
      // compressed-tensors 0.19.0 calculate_qparams: absmax / 127.5 in the weight's dtype, replaced by
      // that dtype's eps only where it is exactly 0 (torch.where, not a floor: a row of +-1e-30 keeps
      // its scale 7.8e-33).
      const float s = round_to(div_rn(absmax, 127.5f), arithmetic);
      return s == 0.0f ? dtype_epsilon(arithmetic) : s;
    }
  }
  return 0.0f;
}

// An all-zero row under lmdeploy has scale 0; lmdeploy would store NaN codes (0/0). smoothcheck
// stores code 0, which dequantises to the row's true value. The authors' fake quant keeps its rounded
// quotient as a float with no clamp; in bfloat16 that quotient can round up to 127.5 and then to 128,
// which an int8 cannot hold, so the int8 store saturates (in float32 and float16 |w / scale| stays
// below 127.5 and the clamp is idle).
SC_HD int8_t weight_code(float w, float scale, WeightQuant variant, DType arithmetic) {
  if (scale == 0.0f) return 0;
  float v = round_to(div_rn(w, scale), arithmetic);
  switch (variant) {
    case WeightQuant::lmdeploy:
    case WeightQuant::smoothquant: return store_int8(round_half_even(v), Clamp::saturate);
    case WeightQuant::compressed_tensors:
      return store_int8(round_half_even(fminf(fmaxf(v, -128.0f), 127.0f)), Clamp::saturate);
  }
  return 0;
}

// ---- smoothing in the model's dtype (SmoothingArithmetic::model_dtype) ----------------------------
// Every public tool forms the statistics and s of a bf16/f16 model with that dtype's tensors: each
// torch operation computes in float32 and rounds to the dtype (its CPU kernels for reduced floats; a
// CUDA run does the same per element). These are those steps, shared by the CPU and CUDA kernels'
// arithmetic-dtype paths (weight_stat and smooth_scale with arithmetic f16/bf16).

// llm-compressor's floor of s (MINIMUM_SMOOTHING_SCALE), a float32 even in a bf16/f16 model.
constexpr float kLlmcompressorFloor = 1e-5f;

// x.pow(e) of a bf16/f16 tensor: torch casts the python-float exponent to the tensor's dtype, computes
// in float32 and rounds to it (aten/src/ATen/native/cpu/PowKernel.cpp pow_tensor_scalar_kernel; checked
// on 200,000 inputs per dtype with torch 2.12.1: the exponent 0.85 is bf16's 0.8515625). The exponent
// 1 - α then loses the difference between Python's 1 - 0.85 (0.15) and the float 1 - 0.85f
// (0.14999998): both round to one bf16/f16 value. sqrt for the exponent 0.5 gives the same rounded value.
SC_HD float pow_in(float x, float e, DType t) {
  const float exponent = round_to(e, t);
#if defined(__CUDA_ARCH__)
  return round_to(powf(x, exponent), t);
#else
  return round_to(std::pow(x, exponent), t);
#endif
}

// The SmoothQuant ratio a^α / w^(1-α) with each of the three operations rounded to t.
SC_HD float migration_ratio_in(float a, float w, float alpha, DType t) {
  return round_to(div_rn(pow_in(a, alpha, t), pow_in(w, add_rn(1.0f, -alpha), t)), t);
}

// A python-float bound of torch.clamp(min=...) on a tensor of dtype t is cast to t first.
SC_HD float clamp_min_in(float v, float lo, DType t) {
  const float bound = round_to(lo, t);
  return v < bound ? bound : v;  // torch.clamp keeps a NaN
}

// s of the authors' and llm-compressor's recipes for one channel, in dtype t (lmdeploy's needs the
// whole vector: its kernels reduce lmdeploy_raw_scale_in's values and divide by lmdeploy_denominator_in).
//   authors (smoothquant/smooth.py): (a^α / w^(1-α)).clamp(min=1e-5), w already clamped (weight_stat);
//   llm-compressor (modifiers/transform/smoothquant/base.py): the ratio, or a where w is 0 (its
//   torch.where(w > 0, ...) for a w that is never negative), then torch.maximum with a float32 tensor of
//   1e-5 (_apply_smoothing): that floor stays a float32 value; maximum keeps a NaN, as clamp does.
SC_HD float smooth_scale_in(float a, float w, float alpha, Recipe recipe, DType t) {
  if (recipe == Recipe::llmcompressor) {
    const float v = w == 0.0f ? a : migration_ratio_in(a, w, alpha, t);
    return v < kLlmcompressorFloor ? kLlmcompressorFloor : v;
  }
  return clamp_min_in(migration_ratio_in(a, w, alpha, t), 1e-5f, t);
}

// lmdeploy's s of one channel before the normalisation, in dtype t: (a^α / w').clamp(min=1e-4), with
// w' = w^(1-α) (wp) clamped to 1e-4 too where the all-or-nothing rule clamps every w' (clamp_w: the
// smallest w' of the group is exactly 0; awq.py smooth_ln_fcs lines 187-192, smooth_fc_fcs 241-246).
SC_HD float lmdeploy_raw_scale_in(float a, float wp, bool clamp_w, float alpha, DType t) {
  const float w_term = clamp_w ? clamp_min_in(wp, 1e-4f, t) : wp;
  return clamp_min_in(round_to(div_rn(pow_in(a, alpha, t), w_term), t), 1e-4f, t);
}

// lmdeploy's normalisation s / sqrt(max(s) * min(s)) in dtype t. smooth_ln_fcs (a norm source, awq.py
// line 194) forms the product and its root in t; smooth_fc_fcs (line 248) in float32 "to prevent
// inf". Where t's product overflows (fp16: max * min > 65504) smoothcheck keeps the float32 product,
// as smooth_fc_fcs does, rather than reproduce lmdeploy's fp16 overflow (every s 0, the norm weight
// inf: a broken model; engine_known_answer_tests names this divergence).
SC_HD float lmdeploy_denominator_in(float s_max, float s_min, bool norm_source, DType t) {
  const float product = mul_rn(s_max, s_min);
  if (!norm_source || !(round_to(product, t) <= FLT_MAX)) return sqrt_rn(product);
  return round_to(sqrt_rn(round_to(product, t)), t);
}

// ---- fused RMSNorm (numerics.md §6, lmdeploy rms_norm_dynamic_quant) ---------------------------------
// The sum of squares has one canonical order so that every backend gets the same float:
// kRmsLanes partial sums, element j going to lane j % kRmsLanes with acc = fmaf(x, x, acc) in
// increasing j, then a halving tree (lane l += lane l + w for w = 16, 8, 4, 2, 1). A CUDA warp
// reading element lane + 32k and reducing with __shfl_down_sync(16, 8, 4, 2, 1) is that order;
// the AVX2 kernel keeps the 32 lanes in four 8-wide registers.
constexpr int kRmsLanes = 32;

SC_HD float reduce_rms_lanes(float* lanes) {
  for (int width = kRmsLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] = add_rn(lanes[l], lanes[l + width]);
  return lanes[0];
}

// 1 / sqrt(mean + eps) with correctly rounded division and square root (not rsqrtf, whose CUDA
// approximation differs from the CPU's).
SC_HD float rms_inverse(float sum_squares, int64_t cols, float eps) {
  float mean = div_rn(sum_squares, float(cols));
  return div_rn(1.0f, sqrt_rn(add_rn(mean, eps)));
}

// y = w * (x * inv) in f32; the caller rounds y to the activation dtype before taking the absmax.
SC_HD float rms_normalized(float x, float w, float inv) { return mul_rn(w, mul_rn(x, inv)); }

// ---- W8A8 epilogues (numerics.md §7) ----------------------------------------------------------------
// vLLM: D = fma(sa, sb * float(acc), bias) in f32, rounded once more to the output dtype by the caller.
// CUTLASS's multiply_add in ScaledEpilogueBias (csrc/cutlass_extensions/epilogue/
// scaled_mm_epilogues_c3x.hpp: Compute0 = multiplies(scale_b, acc), Compute1 = multiply_add(scale_a,
// Compute0, bias)) is one FFMA: the product sa * (sb * acc) is not rounded before the bias is added.
// Callers without a bias pass -0.0f: fma(a, b, -0) is a * b rounded once, zeros' signs included
// (ScaledEpilogue, vLLM's no-bias form, only multiplies).
SC_HD float epilogue_vllm(int32_t acc, float sa, float sb, float bias) {
  return fma_rn(sa, mul_rn(sb, float(acc)), bias);
}
// lmdeploy: float(acc) * sa * sb, left to right; the caller rounds it to the output dtype, then adds
// the bias in the output dtype (epilogue_lmdeploy_bias).
SC_HD float epilogue_lmdeploy(int32_t acc, float sa, float sb) {
  return mul_rn(mul_rn(float(acc), sa), sb);
}

}  // namespace smoothcheck::numerics
