// A float32 (optionally float64) LLaMA forward pass over any Checkpoint (harness/checkpoint/checkpoint.h), written to be
// read beside transformers' modeling_llama.py: pre-norm RMSNorm, rotate_half RoPE, grouped-query
// attention with a causal mask, SwiGLU MLP, tied or untied output head. Every checkpoint layout is
// exposed in the Hugging Face convention (llama2.c q/k rows are permuted on read), so this file has
// one RoPE, the rotate_half one.
//
// Its purpose is calibration: a hook sees the input activation of every linear, which is exactly
// what SmoothQuant's statistics are computed over (numerics.md §1). q/k/v (and gate/up) receive the
// same input; the hook is called once per linear so that a calibrator keyed by linear name needs no
// knowledge of which linears share an input.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/models/llama_kv_cache.h"
#include "kernels/options.h"

namespace smoothcheck::models {

// linear_name is the module name, e.g. "model.layers.3.mlp.down_proj" or "lm_head"; x is the
// input of that linear, [batch, tokens, in_features]. The tensor is shared with the forward pass and
// with the other linears of the same input: a hook must not modify it (clone to keep a copy).
using LinearInputHook = std::function<void(const std::string& linear_name, const at::Tensor& x)>;

struct LlamaHooks {
  LinearInputHook on_linear_input;  // may be empty
};

class LlamaModel {
 public:
  // Loads every weight the config implies, converted to float32, checking each shape against the
  // config (CheckpointError naming the checkpoint, the tensor and both shapes). Tensors the pass does
  // not use (e.g. rotary_emb.inv_freq of old exports) are ignored. With tie_word_embeddings the head
  // is model.embed_tokens.weight; otherwise lm_head.weight must exist.
  //
  // compute is the arithmetic dtype, DType::f32 (default: the float32 pass of transformers and
  // run.c) or DType::f64 (for a reference whose own rounding is negligible: against run.c's logits
  // it errs by 4.9e-5, the run.c side of the budget, where float32 errs by 8.4e-5). Hooks and
  // logits are in this dtype.
  LlamaModel(const checkpoint::Checkpoint& weights, const checkpoint::LlamaConfig& config,
             DType compute = DType::f32);

  const checkpoint::LlamaConfig& config() const { return config_; }

  // tokens: integer ids, [T] or [B, T] (equal lengths, no padding mask), positions 0..T-1.
  // Returns logits (in the compute dtype) [T, vocab] or [B, T, vocab]. Throws std::invalid_argument for an id
  // outside [0, vocab_size) or T > max_position_embeddings.
  //
  // With a cache, the tokens continue the sequences it holds: they sit at positions P..P+T-1 (P =
  // cache->positions()), attend to the cached keys and values as well as to each other (causally), and
  // their own keys and values are appended. Logits and hooks are those of the new tokens only. An
  // empty cache takes the batch of its first call; later calls must have that batch (one sequence per
  // row), and P + T may not exceed max_position_embeddings.
  at::Tensor forward(const at::Tensor& tokens, const LlamaHooks& hooks = {}, LlamaKvCache* cache = nullptr) const;
  at::Tensor forward(const std::vector<std::int64_t>& tokens, const LlamaHooks& hooks = {},
                     LlamaKvCache* cache = nullptr) const;

  // The 7 per-layer linears in forward order, then "lm_head": the names hooks are called with.
  static std::vector<std::string> linear_names(const checkpoint::LlamaConfig& config);

 private:
  struct Layer {
    at::Tensor input_layernorm, q_proj, k_proj, v_proj, o_proj, post_attention_layernorm, gate_proj, up_proj,
        down_proj;
  };

  checkpoint::LlamaConfig config_;
  c10::ScalarType compute_;
  at::Tensor embed_tokens_;
  std::vector<Layer> layers_;
  at::Tensor norm_;
  at::Tensor lm_head_;
};

}  // namespace smoothcheck::models
