#include "harness/models/llama.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::models {

namespace {

using checkpoint::CheckpointError;

at::Tensor load_llama_tensor(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                             c10::ScalarType compute) {
  return checkpoint::config_shaped_tensor(ckpt, name, shape, compute, "the LLaMA config");
}

// transformers' LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then times the weight, all in float32.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return weight * (x * at::rsqrt(x.pow(2).mean({-1}, /*keepdim=*/true) + eps));
}

// rotate_half pairs element i with i + head_dim/2 (the HF layout all checkpoints are exposed in).
at::Tensor rotate_half(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

std::vector<std::string> LlamaModel::linear_names(const checkpoint::LlamaConfig& config) {
  std::vector<std::string> names;
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
      names.push_back(p + n);
  }
  names.push_back("lm_head");
  return names;
}

LlamaModel::LlamaModel(const checkpoint::Checkpoint& w, const checkpoint::LlamaConfig& config, DType compute)
    : config_(config), compute_(compute == DType::f64 ? at::kDouble : at::kFloat) {
  if (compute != DType::f32 && compute != DType::f64)
    throw std::invalid_argument(std::string("LlamaModel computes in f32 or f64, not ") + to_string(compute));
  checkpoint::validate_llama_config(config, w.location());
  c10::InferenceMode guard;
  const std::int64_t D = config.hidden_size, I = config.intermediate_size, KV = config.kv_dim(),
                     V = config.vocab_size;
  embed_tokens_ = load_llama_tensor(w, "model.embed_tokens.weight", {V, D}, compute_);
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Layer L;
    L.input_layernorm = load_llama_tensor(w, p + "input_layernorm.weight", {D}, compute_);
    L.q_proj = load_llama_tensor(w, p + "self_attn.q_proj.weight", {D, D}, compute_);
    L.k_proj = load_llama_tensor(w, p + "self_attn.k_proj.weight", {KV, D}, compute_);
    L.v_proj = load_llama_tensor(w, p + "self_attn.v_proj.weight", {KV, D}, compute_);
    L.o_proj = load_llama_tensor(w, p + "self_attn.o_proj.weight", {D, D}, compute_);
    L.post_attention_layernorm = load_llama_tensor(w, p + "post_attention_layernorm.weight", {D}, compute_);
    L.gate_proj = load_llama_tensor(w, p + "mlp.gate_proj.weight", {I, D}, compute_);
    L.up_proj = load_llama_tensor(w, p + "mlp.up_proj.weight", {I, D}, compute_);
    L.down_proj = load_llama_tensor(w, p + "mlp.down_proj.weight", {D, I}, compute_);
    layers_.push_back(std::move(L));
  }
  norm_ = load_llama_tensor(w, "model.norm.weight", {D}, compute_);
  if (config.tie_word_embeddings) {
    lm_head_ = embed_tokens_;
  } else if (w.contains("lm_head.weight")) {
    lm_head_ = load_llama_tensor(w, "lm_head.weight", {V, D}, compute_);
  } else {
    throw CheckpointError(w.location(), "lm_head.weight",
                          "absent, and the config does not tie it to the embedding (tie_word_embeddings false)");
  }
}

at::Tensor LlamaModel::forward(const std::vector<std::int64_t>& tokens, const LlamaHooks& hooks,
                               LlamaKvCache* cache) const {
  return forward(at::tensor(tokens, at::kLong), hooks, cache);
}

at::Tensor LlamaModel::forward(const at::Tensor& tokens_in, const LlamaHooks& hooks, LlamaKvCache* cache) const {
  c10::InferenceMode guard;
  if (tokens_in.dim() != 1 && tokens_in.dim() != 2)
    throw std::invalid_argument("LlamaModel::forward: tokens must be [T] or [B, T], got " +
                                checkpoint::shape_string(tokens_in.sizes().vec()));
  if (at::isFloatingType(tokens_in.scalar_type()) || tokens_in.scalar_type() == at::kBool)
    throw std::invalid_argument("LlamaModel::forward: token ids must be integers");
  const bool batched = tokens_in.dim() == 2;
  const at::Tensor tokens = (batched ? tokens_in : tokens_in.unsqueeze(0)).to(at::kCPU, at::kLong).contiguous();
  const std::int64_t B = tokens.size(0), T = tokens.size(1);
  const std::int64_t D = config_.hidden_size, H = config_.num_attention_heads, KVH = config_.num_key_value_heads,
                     HD = config_.head_dim();
  if (T == 0) throw std::invalid_argument("LlamaModel::forward: empty token sequence");
  // P: the positions already seen (the cache's), so these tokens sit at P..P+T-1.
  const std::int64_t P = cache ? cache->positions() : 0;
  if (cache && P > 0 && (cache->batch() != B || cache->layers() != layers_.size()))
    throw std::invalid_argument("LlamaModel::forward: the key/value cache holds " + std::to_string(cache->batch()) +
                                " sequences of " + std::to_string(cache->layers()) + " layers, the call " +
                                std::to_string(B) + " of " + std::to_string(layers_.size()));
  if (P + T > config_.max_position_embeddings)
    throw std::invalid_argument("LlamaModel::forward: " + std::to_string(T) + " tokens" +
                                (P > 0 ? " after " + std::to_string(P) + " cached positions" : std::string()) +
                                " exceed max_position_embeddings " + std::to_string(config_.max_position_embeddings));
  const auto lo = tokens.min().item<std::int64_t>(), hi = tokens.max().item<std::int64_t>();
  if (lo < 0 || hi >= config_.vocab_size)
    throw std::invalid_argument("LlamaModel::forward: token id " + std::to_string(lo < 0 ? lo : hi) +
                                " outside [0, " + std::to_string(config_.vocab_size) + ")");

  const auto hook = [&](const std::string& name, const at::Tensor& x) {
    if (hooks.on_linear_input) hooks.on_linear_input(name, x);
  };

  // RoPE tables as transformers builds them, in the compute dtype: inv_freq = 1 / theta^(2i / head_dim),
  // angle = position * inv_freq, duplicated over the two halves that rotate_half pairs up.
  const at::Tensor inv_freq =
      1.0 / at::pow(config_.rope_theta, at::arange(0, HD, 2, at::kLong).to(compute_) / static_cast<double>(HD));
  const at::Tensor angles = at::outer(at::arange(P, P + T, at::kLong).to(compute_), inv_freq);  // [T, HD/2]
  const at::Tensor emb = at::cat({angles, angles}, -1);                                           // [T, HD]
  const at::Tensor cos = emb.cos(), sin = emb.sin();
  // Query i (at position P + i) sees keys 0..P + i: true (masked) from diagonal P + 1 on.
  const at::Tensor causal = at::ones({T, P + T}, at::kBool).triu(P + 1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(HD));
  std::vector<at::Tensor> cached_keys, cached_values;  // every layer's, handed to the cache at the end

  at::Tensor x = embed_tokens_.index_select(0, tokens.view({-1})).view({B, T, D});
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";

    const at::Tensor h = rms_norm(x, L.input_layernorm, config_.rms_norm_eps);
    hook(p + "self_attn.q_proj", h);
    hook(p + "self_attn.k_proj", h);
    hook(p + "self_attn.v_proj", h);
    at::Tensor q = at::linear(h, L.q_proj).view({B, T, H, HD}).transpose(1, 2);    // [B, H, T, HD]
    at::Tensor k = at::linear(h, L.k_proj).view({B, T, KVH, HD}).transpose(1, 2);  // [B, KVH, T, HD]
    at::Tensor v = at::linear(h, L.v_proj).view({B, T, KVH, HD}).transpose(1, 2);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    if (cache) {
      if (P > 0) {
        k = at::cat({cache->keys(l), k}, 2);
        v = at::cat({cache->values(l), v}, 2);
      }
      cached_keys.push_back(k);
      cached_values.push_back(v);
    }
    // Grouped-query attention: query head j reads kv head j / (H / KVH), as transformers' repeat_kv
    // and llama.c's kv_mul do.
    if (KVH != H) {
      k = k.repeat_interleave(H / KVH, 1);
      v = v.repeat_interleave(H / KVH, 1);
    }
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, T, P + T]
    scores = scores.masked_fill(causal, -std::numeric_limits<float>::infinity());
    const at::Tensor attn = at::matmul(at::softmax(scores, -1), v).transpose(1, 2).reshape({B, T, D});
    hook(p + "self_attn.o_proj", attn);
    x = x + at::linear(attn, L.o_proj);

    const at::Tensor h2 = rms_norm(x, L.post_attention_layernorm, config_.rms_norm_eps);
    hook(p + "mlp.gate_proj", h2);
    hook(p + "mlp.up_proj", h2);
    const at::Tensor act = at::silu(at::linear(h2, L.gate_proj)) * at::linear(h2, L.up_proj);
    hook(p + "mlp.down_proj", act);
    x = x + at::linear(act, L.down_proj);
  }
  x = rms_norm(x, norm_, config_.rms_norm_eps);
  hook("lm_head", x);
  at::Tensor logits = at::linear(x, lm_head_);
  if (cache) cache->assign(std::move(cached_keys), std::move(cached_values), B, P + T);
  return batched ? logits : logits.squeeze(0);
}

}  // namespace smoothcheck::models
