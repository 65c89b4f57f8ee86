// The vocabulary every room shares: element types and the named numeric options of numerics.md.
// Enums and plain option structs only, no arithmetic: the reference includes this header to speak
// the same option names as the kernels, while the arithmetic itself stays two independent
// computations (kernels/numerics.h is never included by reference/).
#pragma once

#include <cstddef>
#include <cstdint>

namespace smoothcheck {

enum class DType { f64, f32, f16, bf16, i8, i32 };

// Bytes per element; 0 never occurs for a valid DType.
inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64: return 8;
    case DType::f32: return 4;
    case DType::i32: return 4;
    case DType::f16: return 2;
    case DType::bf16: return 2;
    case DType::i8: return 1;
  }
  return 0;
}

inline const char* to_string(DType t) {
  switch (t) {
    case DType::f64: return "f64";
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i8: return "i8";
    case DType::i32: return "i32";
  }
  return "?";
}

// numerics.md §6: vLLM/TensorRT-LLM round half to even (cvt.rni); lmdeploy's Triton per-token
// kernel and ggml round half away from zero.
enum class Rounding { half_even, half_away };

// numerics.md §6: vLLM's dynamic kernels multiply by 127/absmax; its static kernel and lmdeploy divide.
enum class ScaleMath { divide, reciprocal_multiply };

// numerics.md §6: saturate to [-128, 127] (cvt.sat) or store the rounded value unclamped. Without the
// clamp an out-of-range value wraps modulo 256, the two's-complement store of C and of PTX's
// non-saturating integer cvt, so a missing clamp is visible rather than hidden.
enum class Clamp { saturate, none };

// numerics.md §6, the row whose absmax is 0:
//  zero_scale  - vLLM: the reciprocal is 0, codes 0 and the stored scale 0;
//  floor       - TensorRT-LLM (1e-6) and lmdeploy's Triton kernel (1e-7): absmax = max(absmax, floor).
// lmdeploy's fused RMSNorm kernel divides by zero here; smoothcheck refuses to reproduce a NaN scale.
enum class ZeroRow { zero_scale, floor };

struct ActQuantOptions {
  Rounding rounding = Rounding::half_even;
  ScaleMath math = ScaleMath::reciprocal_multiply;
  Clamp clamp = Clamp::saturate;
  ZeroRow zero_row = ZeroRow::zero_scale;
  float absmax_floor = 0.0f;  // used when zero_row == ZeroRow::floor
};

// The per-token option sets of the public implementations (numerics.md §6), one definition for the
// case tables, the benchmarks and the callgrind driver.
// vLLM (int8_quant_kernels.cu): absmax by fmaxf (NaN skipped), cvt.rni.sat (NaN -> 0), a ±inf row -> 0.
constexpr ActQuantOptions vllm_dynamic_act_quant() {  // half even, x * (127/absmax), saturate, zero row -> 0
  return {Rounding::half_even, ScaleMath::reciprocal_multiply, Clamp::saturate, ZeroRow::zero_scale, 0.0f};
}
constexpr ActQuantOptions trtllm_act_quant() {  // as vLLM, row max starting at 1e-6
  return {Rounding::half_even, ScaleMath::reciprocal_multiply, Clamp::saturate, ZeroRow::floor, 1e-6f};
}
constexpr ActQuantOptions lmdeploy_triton_act_quant() {  // half away, x / scale, absmax floor 1e-7, no clamp
  return {Rounding::half_away, ScaleMath::divide, Clamp::none, ZeroRow::floor, 1e-7f};
}
// lmdeploy's fused rms_norm_dynamic_quant (pytorch/kernels/cuda/w8a8_triton_kernels.py): scale = max|y| / 127 with
// no floor (an all-zero row divides by zero upstream; smoothcheck gives it scale 0), y / scale, Triton's
// libdevice round (half away from zero), clamp. Matches lmdeploy 0.18.0's kernel run by Triton's
// interpreter bit for bit (cases/upstream_known_answers/lmdeploy.json).
constexpr ActQuantOptions lmdeploy_fused_rmsnorm_act_quant() {
  return {Rounding::half_away, ScaleMath::divide, Clamp::saturate, ZeroRow::zero_scale, 0.0f};
}
constexpr ActQuantOptions vllm_static_act_quant() {  // half even, x / scale, saturate
  return {Rounding::half_even, ScaleMath::divide, Clamp::saturate, ZeroRow::zero_scale, 0.0f};
}

// numerics.md §5, the three per-output-channel weight quantisers.
enum class WeightQuant {
  lmdeploy,           // in f32: scale = absmax/127, no epsilon, q = clamp(rne(w/scale))
  smoothquant,        // in the weight's dtype: scale = max(absmax, 1e-5)/127, q = rne(w/scale) (int8 saturates)
  compressed_tensors  // in the weight's dtype: scale = absmax/127.5 (eps where 0), q = rne(clamp(w/scale, -128, 127))
};

// numerics.md §2-3.
enum class Recipe { smoothquant, lmdeploy, llmcompressor };

// numerics.md §4.
enum class SmoothMode { fused, migration };

// The dtype smoothing computes s in and applies it in. model_dtype: the statistics and s computed in the
// model's dtype and every smoothed tensor (norm / s, W[:, j] * s_j, a previous fc's rows / s_j) rounded
// to it, as every
// public tool does by working in place on the model's tensors (lmdeploy lite/quantization/awq.py
// smooth_ln_fcs, the authors' smoothquant/smooth.py, llm-compressor's _apply_smoothing). float32:
// every step kept in float32 (smoothcheck before engine profiles; for experiments). The same for a
// float32 model.
enum class SmoothingArithmetic { model_dtype, float32 };

// numerics.md §7.
enum class Epilogue {
  vllm,     // D = fma(sa[m], sb[n] * float(acc), bias[n]) in fp32 (CUTLASS multiply_add), then the output dtype
  lmdeploy  // y = out(float(acc) * sa[m] * sb[n]); D = out(y + bias[n]) with the bias in the output dtype
};

// Every to_string below is a switch with no default (-Wswitch flags an enumerator without its name) that
// returns "?" for a value outside the enum: cases/differential/option_coverage_tests.cpp enumerates each
// option by counting up from 0 until "?", so a new enumerator joins that test without a list to update.
inline const char* to_string(Rounding v) {
  switch (v) {
    case Rounding::half_even: return "half_even";
    case Rounding::half_away: return "half_away";
  }
  return "?";
}
inline const char* to_string(ScaleMath v) {
  switch (v) {
    case ScaleMath::divide: return "divide";
    case ScaleMath::reciprocal_multiply: return "reciprocal";
  }
  return "?";
}
inline const char* to_string(Clamp v) {
  switch (v) {
    case Clamp::saturate: return "saturate";
    case Clamp::none: return "noclamp";
  }
  return "?";
}
inline const char* to_string(ZeroRow v) {
  switch (v) {
    case ZeroRow::zero_scale: return "zero_scale";
    case ZeroRow::floor: return "floor";
  }
  return "?";
}
inline const char* to_string(WeightQuant v) {
  switch (v) {
    case WeightQuant::lmdeploy: return "lmdeploy";
    case WeightQuant::smoothquant: return "smoothquant";
    case WeightQuant::compressed_tensors: return "compressed_tensors";
  }
  return "?";
}
inline const char* to_string(Recipe v) {
  switch (v) {
    case Recipe::smoothquant: return "smoothquant";
    case Recipe::lmdeploy: return "lmdeploy";
    case Recipe::llmcompressor: return "llmcompressor";
  }
  return "?";
}
inline const char* to_string(SmoothingArithmetic v) {
  switch (v) {
    case SmoothingArithmetic::model_dtype: return "model_dtype";
    case SmoothingArithmetic::float32: return "float32";
  }
  return "?";
}
inline const char* to_string(SmoothMode v) {
  switch (v) {
    case SmoothMode::fused: return "fused";
    case SmoothMode::migration: return "migration";
  }
  return "?";
}
inline const char* to_string(Epilogue v) {
  switch (v) {
    case Epilogue::vllm: return "vllm";
    case Epilogue::lmdeploy: return "lmdeploy";
  }
  return "?";
}

}  // namespace smoothcheck
