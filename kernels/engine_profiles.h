// One profile per engine: every numeric choice an engine makes, defined once, each with the upstream
// file it follows. The reference, the kernels and the pipeline take their options from a profile
// (`quantize --engine E`, recorded in quantization_config so that `verify` and `forward` re-derive and
// run with the same one); per-step options stay available for experiments. The float64 reference
// remains the ideal every profile is measured against. Vocabulary only, like options.h: no arithmetic.
//
// An engine here is a whole chain a user picks: the tool that smooths and quantises the checkpoint and
// the runtime that executes it. llm-compressor writes compressed-tensors checkpoints that vLLM runs,
// so its profile takes vLLM's runtime choices.
#pragma once

#include "kernels/options.h"

namespace smoothcheck {

enum class Engine { lmdeploy, smoothquant, llmcompressor };

struct EngineProfile {
  Engine engine = Engine::lmdeploy;
  // Weight statistic and s (numerics.md §2-3), with the tool's default α.
  Recipe recipe = Recipe::lmdeploy;
  float alpha = 0.5f;
  // Whether fc->fc pairs (LLaMA v_proj -> o_proj, up_proj -> down_proj) are smoothed besides the
  // norm -> fcs groups (§4). Only lmdeploy has them; under grouped-query attention it skips v -> o.
  bool fc_to_fc_pairs = true;
  // The dtype s is computed and applied in: the model's, for every engine here (options.h).
  SmoothingArithmetic smoothing_arithmetic = SmoothingArithmetic::model_dtype;
  // Per-output-channel int8 weight quantiser (§5), in the arithmetic its variant names
  // (numerics::weight_arithmetic: lmdeploy in float32, the others in the weight's dtype).
  WeightQuant weight = WeightQuant::lmdeploy;
  // The runtime's dynamic per-token activation quantiser (§6) and GEMM epilogue (§7).
  ActQuantOptions activation = lmdeploy_triton_act_quant();
  Epilogue epilogue = Epilogue::lmdeploy;
  // The upstream files these choices follow, for messages and the report.
  const char* upstream = "";
};

// lmdeploy 0.x: lite/quantization/awq.py (NORM_FCS_MAP and FC_FCS_MAP, get_weight_scale,
// smooth_ln_fcs, smooth_fc_fcs: α 0.5, v -> o skipped when v_proj's out_features divide o_proj's
// in_features; act_scales cast to the fcs' dtype, s formed and applied in place in it),
// pytorch/models/q_modules.py (QLinear.from_float: absmax/127, clamp, in float32),
// pytorch/kernels/cuda/w8a8_triton_kernels.py (per_token_quant_int8: floor 1e-7, x / scale, round half
// away, no clamp; the int8 matmul's epilogue: acc · sa · sb in the output dtype, then + bias).
constexpr EngineProfile lmdeploy_profile() {
  return {Engine::lmdeploy,
          Recipe::lmdeploy,
          0.5f,
          true,
          SmoothingArithmetic::model_dtype,
          WeightQuant::lmdeploy,
          lmdeploy_triton_act_quant(),
          Epilogue::lmdeploy,
          "lmdeploy: lite/quantization/awq.py, pytorch/models/q_modules.py, "
          "pytorch/kernels/cuda/w8a8_triton_kernels.py"};
}

// The SmoothQuant authors (mit-han-lab/smoothquant): smoothquant/smooth.py (smooth_lm, LLaMA-like
// layers: input_layernorm -> q,k,v and post_attention_layernorm -> gate,up only; α default 0.5, their
// LLaMA recipes 0.85; s = max(a^α / w^(1-α), 1e-5) with w = max(max_r |W[r, j]|, 1e-5), in the
// weights' dtype and applied in place), smoothquant/fake_quant.py (quantize_weight_per_channel_absmax:
// max(absmax, 1e-5)/127, round, no clamp, in place in the weight's dtype;
// quantize_activation_per_token_absmax: the same per token, x / scale, torch.round (half to even)). Their W8A8Linear multiplies dequantised operands in the model dtype; the exact int32
// product with a single-rounding f32 epilogue (vLLM's) is that computation's error-free limit.
constexpr EngineProfile smoothquant_profile() {
  return {Engine::smoothquant,
          Recipe::smoothquant,
          0.5f,
          false,
          SmoothingArithmetic::model_dtype,
          WeightQuant::smoothquant,
          ActQuantOptions{Rounding::half_even, ScaleMath::divide, Clamp::none, ZeroRow::floor, 1e-5f},
          Epilogue::vllm,
          "SmoothQuant authors: smoothquant/smooth.py, smoothquant/fake_quant.py"};
}

// llm-compressor: modifiers/smoothquant/base.py and utils.py (DEFAULT_SMOOTHQUANT_MAPPINGS:
// input_layernorm -> q,k,v and post_attention_layernorm -> gate,up, no fc->fc; the activation
// statistic is the range max - min of the observed activations, w = 2·max|W|, α 0.5, the smoothed
// weights written back in their dtype); compressed-tensors quantization/utils/helpers.py and
// lifecycle/forward_helpers.py (int8 symmetric per channel: absmax/127.5, clamp, round, in the weight's
// dtype); vLLM runs the checkpoint: csrc/quantization/compressed_tensors/int8_quant_kernels.cu
// (dynamic per token: x · (127/absmax), round half to even, saturate, zero row -> 0) and the CUTLASS
// scaled-mm epilogue (scaled_mm_epilogues_c3x.hpp: fma(sa, sb · acc, bias) in fp32, one rounding).
constexpr EngineProfile llmcompressor_profile() {
  return {Engine::llmcompressor,
          Recipe::llmcompressor,
          0.5f,
          false,
          SmoothingArithmetic::model_dtype,
          WeightQuant::compressed_tensors,
          vllm_dynamic_act_quant(),
          Epilogue::vllm,
          "llm-compressor: modifiers/smoothquant/; compressed-tensors: quantization/; "
          "vLLM: csrc/quantization/compressed_tensors/int8_quant_kernels.cu, CUTLASS scaled_mm epilogue"};
}

constexpr EngineProfile engine_profile(Engine e) {
  switch (e) {
    case Engine::lmdeploy: return lmdeploy_profile();
    case Engine::smoothquant: return smoothquant_profile();
    case Engine::llmcompressor: return llmcompressor_profile();
  }
  return lmdeploy_profile();
}

inline const char* to_string(Engine v) {
  switch (v) {
    case Engine::lmdeploy: return "lmdeploy";
    case Engine::smoothquant: return "smoothquant";
    case Engine::llmcompressor: return "llmcompressor";
  }
  return "?";
}

}  // namespace smoothcheck
