#include "harness/pipeline/w8a8_llama.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace {

at::Tensor load(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& shape,
                at::ScalarType want) {
  return load_checked(ckpt, name, shape, want);
}

// transformers' LlamaRMSNorm in float32, as models::LlamaModel computes it.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  return weight * (x * at::rsqrt(x.pow(2).mean({-1}, true) + eps));
}

at::Tensor rotate_half(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

LlamaNonLinearWeights load_non_linear_weights(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& c) {
  LlamaNonLinearWeights w;
  const int64_t D = c.hidden_size, V = c.vocab_size;
  w.embed_tokens = load(ckpt, "model.embed_tokens.weight", {V, D}, at::kFloat);
  w.norm = load(ckpt, "model.norm.weight", {D}, at::kFloat);
  w.lm_head = c.tie_word_embeddings ? w.embed_tokens : load(ckpt, "lm_head.weight", {V, D}, at::kFloat);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    for (const char* n : {"input_layernorm", "post_attention_layernorm"}) {
      const std::string name = "model.layers." + std::to_string(l) + "." + n;
      w.layer_norms[name] = load(ckpt, name + ".weight", {D}, at::kFloat);
    }
  return w;
}

at::Tensor llama_forward(const checkpoint::LlamaConfig& c, const LlamaNonLinearWeights& w, const LinearFn& linear_fn,
                         const at::Tensor& tokens_in) {
  c10::InferenceMode guard;
  if (tokens_in.dim() != 1) throw std::invalid_argument("llama_forward: tokens must be [T]");
  const at::Tensor tokens = tokens_in.to(at::kLong).contiguous();
  const int64_t T = tokens.size(0), D = c.hidden_size, H = c.num_attention_heads, KVH = c.num_key_value_heads,
                HD = c.head_dim();
  if (T == 0 || T > c.max_position_embeddings) throw std::invalid_argument("llama_forward: bad sequence length");
  const auto linear = [&](const std::string& name, const at::Tensor& x) {
    return linear_fn(name, x.reshape({-1, x.size(-1)}).contiguous()).view({T, -1});
  };
  const at::Tensor inv_freq =
      1.0 / at::pow(c.rope_theta, at::arange(0, HD, 2, at::kLong).to(at::kFloat) / static_cast<double>(HD));
  const at::Tensor angles = at::outer(at::arange(T, at::kLong).to(at::kFloat), inv_freq);
  const at::Tensor emb = at::cat({angles, angles}, -1);
  const at::Tensor cos = emb.cos(), sin = emb.sin();
  const at::Tensor causal = at::ones({T, T}, at::kBool).triu(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(HD));

  at::Tensor x = w.embed_tokens.index_select(0, tokens);  // [T, D]
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const at::Tensor h = rms_norm(x, w.layer_norms.at(p + "input_layernorm"), c.rms_norm_eps);
    at::Tensor q = linear(p + "self_attn.q_proj", h).view({T, H, HD}).transpose(0, 1);
    at::Tensor k = linear(p + "self_attn.k_proj", h).view({T, KVH, HD}).transpose(0, 1);
    at::Tensor v = linear(p + "self_attn.v_proj", h).view({T, KVH, HD}).transpose(0, 1);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    if (KVH != H) {
      k = k.repeat_interleave(H / KVH, 0);
      v = v.repeat_interleave(H / KVH, 0);
    }
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
    scores = scores.masked_fill(causal, -std::numeric_limits<float>::infinity());
    const at::Tensor attn = at::matmul(at::softmax(scores, -1), v).transpose(0, 1).reshape({T, D});
    x = x + linear(p + "self_attn.o_proj", attn);
    const at::Tensor h2 = rms_norm(x, w.layer_norms.at(p + "post_attention_layernorm"), c.rms_norm_eps);
    const at::Tensor act = at::silu(linear(p + "mlp.gate_proj", h2)) * linear(p + "mlp.up_proj", h2);
    x = x + linear(p + "mlp.down_proj", act);
  }
  x = rms_norm(x, w.norm, c.rms_norm_eps);
  return at::linear(x, w.lm_head);
}

W8A8Llama::W8A8Llama(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& c,
                     const QuantizationConfig& qc, kernels::Backend& backend, bool int8_activations)
    : config_(c),
      w_(load_non_linear_weights(ckpt, c)),
      linears_(ckpt, quantized_linears(layout_config_from(c, DType::f32)), qc, backend, int8_activations) {}

at::Tensor W8A8Llama::forward(const at::Tensor& tokens) const {
  return llama_forward(
      config_, w_, [this](const std::string& n, const at::Tensor& x) { return linears_.matmul(n, x); }, tokens);
}

}  // namespace smoothcheck::pipeline
