// The W8A8 LLaMA forward pass of a quantized export, the way an int8 engine runs it: every one of the
// 7 linears per layer is dynamic per-token int8 activation quantisation (vLLM's rules: reciprocal
// multiply, round half to even, saturate; in migration mode the activation is first divided by the
// linear's migration_scale) and an int8 GEMM with the vLLM epilogue (scale_a · (scale_b · acc) in
// fp32), both on a production backend through harness/checked_ops.h. Everything else (embedding,
// RMSNorm, RoPE, attention, SiLU, the unquantised lm_head) is float32, as in models::LlamaModel,
// whose arithmetic this file repeats so that the quantized model differs from it only in its linears.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

// y = linear(name, x): x [M, C] float32 contiguous -> y [M, O] float32.
using LinearFn = std::function<at::Tensor(const std::string& linear_name, const at::Tensor& x)>;

struct LlamaNonLinearWeights {
  at::Tensor embed_tokens, norm, lm_head;          // float32
  std::map<std::string, at::Tensor> layer_norms;   // "model.layers.3.input_layernorm" -> [D] float32
};

// Embedding, norms and head of any checkpoint (quantized or not), float32.
LlamaNonLinearWeights load_non_linear_weights(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& c);

// tokens [T] (int64) -> logits [T, vocab] float32, positions 0..T-1.
at::Tensor llama_forward(const checkpoint::LlamaConfig& c, const LlamaNonLinearWeights& w, const LinearFn& linear,
                         const at::Tensor& tokens);

class W8A8Llama {
 public:
  // Loads <linear>.weight int8, .scale [O, 1] and, in migration mode, .migration_scale [C].
  // int8_activations false gives the weight-only diagnostic (W8A32): the same dequantised weights
  // (q·scale) applied to float activations (divided by s in migration mode), so that verify can say
  // which half of W8A8 costs the accuracy.
  W8A8Llama(const checkpoint::Checkpoint& quantized, const checkpoint::LlamaConfig& c, SmoothMode mode,
            kernels::Backend& backend, bool int8_activations = true);
  at::Tensor forward(const at::Tensor& tokens) const;

 private:
  at::Tensor linear(const std::string& name, const at::Tensor& x) const;

  struct QLinear {
    at::Tensor q, scale, migration_scale;  // int8 [O, C], f32 [O], f32 [C] or undefined
    at::Tensor dequantized;                // f32 [O, C] = q·scale (weight-only diagnostic)
  };
  bool int8_activations_ = true;
  checkpoint::LlamaConfig config_;
  SmoothMode mode_;
  kernels::Backend* backend_;
  LlamaNonLinearWeights w_;
  std::map<std::string, QLinear> linears_;
};

}  // namespace smoothcheck::pipeline
