// The W8A8 LLaMA forward pass of a quantized export, the way an int8 engine runs it: the 7 linears per
// layer are W8A8Linears (w8a8_linears.h: per-token int8 activations, int8 GEMM). Everything else (embedding,
// RMSNorm, RoPE, attention, SiLU, the unquantised lm_head) is float32, as in models::LlamaModel,
// whose arithmetic this file repeats so that the quantized model differs from it only in its linears.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/pipeline/w8a8_linears.h"
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
  // The linears as W8A8Linears loads them (int8_activations false: the weight-only diagnostic).
  W8A8Llama(const checkpoint::Checkpoint& quantized, const checkpoint::LlamaConfig& c, const QuantizationConfig& qc,
            kernels::Backend& backend, bool int8_activations = true);
  at::Tensor forward(const at::Tensor& tokens) const;

 private:
  checkpoint::LlamaConfig config_;
  LlamaNonLinearWeights w_;
  W8A8Linears linears_;
};

}  // namespace smoothcheck::pipeline
