#include "harness/models/bert.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::models {

namespace {

using checkpoint::CheckpointError;
using json = nlohmann::json;

at::Tensor load_bert_tensor(const checkpoint::Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                            c10::ScalarType compute) {
  return checkpoint::config_shaped_tensor(ckpt, name, shape, compute, "the BERT config");
}

// An integer tensor of the ids' shape, on the CPU, as int64; `what` names it in errors.
at::Tensor integer_like(const at::Tensor& t, const at::Tensor& ids, const char* what) {
  if (t.sizes() != ids.sizes())
    throw std::invalid_argument(std::string("BertModel: ") + what + " has shape " +
                                checkpoint::shape_string(t.sizes().vec()) + ", input_ids " +
                                checkpoint::shape_string(ids.sizes().vec()));
  if (at::isFloatingType(t.scalar_type()) || at::isComplexType(t.scalar_type()))
    throw std::invalid_argument(std::string("BertModel: ") + what + " must be integers (or bool)");
  return t.to(at::kCPU, at::kLong).contiguous();
}

}  // namespace

void validate_bert_config(const BertConfig& c, const std::filesystem::path& origin) {
  const auto positive = [&](const char* name, std::int64_t v) { checkpoint::require_positive(origin, name, v); };
  positive("hidden_size", c.hidden_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("intermediate_size", c.intermediate_size);
  positive("vocab_size", c.vocab_size);
  positive("max_position_embeddings", c.max_position_embeddings);
  positive("type_vocab_size", c.type_vocab_size);
  if (c.hidden_size % c.num_attention_heads != 0)
    throw CheckpointError(origin, "num_attention_heads " + std::to_string(c.num_attention_heads) +
                                      " does not divide hidden_size " + std::to_string(c.hidden_size));
  if (!(c.layer_norm_eps > 0) || !std::isfinite(c.layer_norm_eps))
    throw CheckpointError(origin,
                          "layer_norm_eps " + std::to_string(c.layer_norm_eps) + " is not a positive finite number");
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size)
    throw CheckpointError(origin, "pad_token_id " + std::to_string(c.pad_token_id) + " is outside the vocabulary [0, " +
                                      std::to_string(c.vocab_size) + ")");
}

BertConfig read_bert_config(const std::filesystem::path& file) { return parse_bert_config(checkpoint::read_config_json(file), file); }

BertConfig parse_bert_config(const json& j, const std::filesystem::path& file) {
  if (!j.is_object()) throw CheckpointError(file, "config.json is " + checkpoint::json_kind(j) + ", not an object");

  if (auto mt = checkpoint::config_string(j, "model_type", file); mt && *mt != "bert")
    throw CheckpointError(file, "model_type is '" + *mt + "'; only 'bert' is implemented");
  if (auto act = checkpoint::config_string(j, "hidden_act", file); act && *act != "gelu")
    throw CheckpointError(file, "hidden_act is '" + *act + "'; the forward pass implements 'gelu' (exact, erf)");
  if (auto pe = checkpoint::config_string(j, "position_embedding_type", file); pe && *pe != "absolute")
    throw CheckpointError(file, "position_embedding_type is '" + *pe + "'; only 'absolute' is implemented");
  for (const char* flag : {"is_decoder", "add_cross_attention"})
    if (checkpoint::config_bool(j, flag, file).value_or(false))
      throw CheckpointError(file,
                            std::string(flag) + " is true; the forward pass is an encoder without cross-attention");

  BertConfig c;
  c.hidden_size = checkpoint::required_config_int(j, "hidden_size", file);
  c.num_hidden_layers = checkpoint::required_config_int(j, "num_hidden_layers", file);
  c.num_attention_heads = checkpoint::required_config_int(j, "num_attention_heads", file);
  c.intermediate_size = checkpoint::required_config_int(j, "intermediate_size", file);
  c.vocab_size = checkpoint::required_config_int(j, "vocab_size", file);
  c.max_position_embeddings = checkpoint::config_int(j, "max_position_embeddings", file).value_or(c.max_position_embeddings);
  c.type_vocab_size = checkpoint::config_int(j, "type_vocab_size", file).value_or(c.type_vocab_size);
  c.layer_norm_eps = checkpoint::config_number(j, "layer_norm_eps", file).value_or(c.layer_norm_eps);
  c.pad_token_id = checkpoint::config_int(j, "pad_token_id", file).value_or(c.pad_token_id);
  if (auto dt = checkpoint::config_string(j, "torch_dtype", file)) {
    c.torch_dtype = checkpoint::dtype_from_torch_name(*dt);
    if (!c.torch_dtype)
      throw CheckpointError(file, "torch_dtype '" + *dt + "' is not float32, float16, bfloat16 or float64");
  }
  validate_bert_config(c, file);
  return c;
}

void check_mean_pooling_config(const std::filesystem::path& file, std::int64_t hidden_size) {
  const json j = checkpoint::read_json_file(file, "pooling config", 2, 1ull << 20);
  if (!j.is_object()) throw CheckpointError(file, "pooling config is " + checkpoint::json_kind(j) + ", not an object");
  if (!checkpoint::config_bool(j, "pooling_mode_mean_tokens", file).value_or(false))
    throw CheckpointError(file, "pooling_mode_mean_tokens is not true; only mean pooling is implemented");
  for (const auto& [key, value] : j.items())
    if (key.rfind("pooling_mode_", 0) == 0 && key != "pooling_mode_mean_tokens" &&
        checkpoint::config_bool(j, key.c_str(), file).value_or(false))
      throw CheckpointError(file, key + " is true; only mean pooling is implemented");
  if (auto dim = checkpoint::config_int(j, "word_embedding_dimension", file); dim && *dim != hidden_size)
    throw CheckpointError(file, "word_embedding_dimension " + std::to_string(*dim) + " differs from hidden_size " +
                                    std::to_string(hidden_size));
}

std::vector<std::string> BertModel::linear_names(const BertConfig& config, const std::string& prefix) {
  std::vector<std::string> names;
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = prefix + "encoder.layer." + std::to_string(l) + ".";
    for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "intermediate.dense", "output.dense"})
      names.push_back(p + n);
  }
  return names;
}

std::vector<std::string> BertModel::linear_names() const { return linear_names(config_, prefix_); }

BertModel::BertModel(const checkpoint::Checkpoint& w, const BertConfig& config, DType compute,
                     bool load_linear_weights)
    : config_(config), compute_(compute == DType::f64 ? at::kDouble : at::kFloat),
      linear_weights_loaded_(load_linear_weights) {
  if (compute != DType::f32 && compute != DType::f64)
    throw std::invalid_argument(std::string("BertModel computes in f32 or f64, not ") + to_string(compute));
  validate_bert_config(config, w.location());
  // Task-head exports (BertForSequenceClassification, ...) nest the encoder under "bert.".
  prefix_ = w.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  c10::InferenceMode guard;
  const std::int64_t D = config.hidden_size, I = config.intermediate_size;
  const auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in) {
    return Linear{load_linear_weights ? load_bert_tensor(w, name + ".weight", {out, in}, compute_) : at::Tensor(),
                  load_bert_tensor(w, name + ".bias", {out}, compute_)};
  };
  const auto norm = [&](const std::string& name) {
    return Norm{load_bert_tensor(w, name + ".weight", {D}, compute_), load_bert_tensor(w, name + ".bias", {D}, compute_)};
  };
  const std::string e = prefix_ + "embeddings.";
  word_embeddings_ = load_bert_tensor(w, e + "word_embeddings.weight", {config.vocab_size, D}, compute_);
  position_embeddings_ = load_bert_tensor(w, e + "position_embeddings.weight", {config.max_position_embeddings, D}, compute_);
  token_type_embeddings_ = load_bert_tensor(w, e + "token_type_embeddings.weight", {config.type_vocab_size, D}, compute_);
  embeddings_norm_ = norm(e + "LayerNorm");
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = prefix_ + "encoder.layer." + std::to_string(l) + ".";
    Layer L;
    L.query = linear(p + "attention.self.query", D, D);
    L.key = linear(p + "attention.self.key", D, D);
    L.value = linear(p + "attention.self.value", D, D);
    L.attention_output = linear(p + "attention.output.dense", D, D);
    L.attention_norm = norm(p + "attention.output.LayerNorm");
    L.intermediate = linear(p + "intermediate.dense", I, D);
    L.output = linear(p + "output.dense", D, I);
    L.output_norm = norm(p + "output.LayerNorm");
    layers_.push_back(std::move(L));
  }
}

at::Tensor BertModel::forward(const at::Tensor& ids_in, const at::Tensor& mask_in, const at::Tensor& types_in,
                              const BertHooks& hooks) const {
  c10::InferenceMode guard;
  if (!ids_in.defined() || (ids_in.dim() != 1 && ids_in.dim() != 2))
    throw std::invalid_argument(
        "BertModel::forward: input_ids must be [T] or [B, T], got " +
        (ids_in.defined() ? checkpoint::shape_string(ids_in.sizes().vec()) : std::string("none")));
  if (at::isFloatingType(ids_in.scalar_type()) || ids_in.scalar_type() == at::kBool)
    throw std::invalid_argument("BertModel::forward: input_ids must be integers");
  const bool batched = ids_in.dim() == 2;
  const auto as_batch = [&](const at::Tensor& t) { return batched ? t : t.unsqueeze(0); };
  const at::Tensor ids = as_batch(ids_in).to(at::kCPU, at::kLong).contiguous();
  const std::int64_t B = ids.size(0), T = ids.size(1), D = config_.hidden_size, H = config_.num_attention_heads,
                     HD = config_.head_dim();
  if (T == 0 || B == 0) throw std::invalid_argument("BertModel::forward: empty input");
  if (T > config_.max_position_embeddings)
    throw std::invalid_argument("BertModel::forward: " + std::to_string(T) + " tokens exceed max_position_embeddings " +
                                std::to_string(config_.max_position_embeddings));
  const auto check_range = [](const at::Tensor& t, std::int64_t n, const char* what) {
    const auto lo = t.min().item<std::int64_t>(), hi = t.max().item<std::int64_t>();
    if (lo < 0 || hi >= n)
      throw std::invalid_argument(std::string("BertModel::forward: ") + what + " " + std::to_string(lo < 0 ? lo : hi) +
                                  " outside [0, " + std::to_string(n) + ")");
  };
  check_range(ids, config_.vocab_size, "token id");
  const at::Tensor types =
      types_in.defined() ? integer_like(as_batch(types_in), ids, "token_type_ids") : at::zeros_like(ids);
  check_range(types, config_.type_vocab_size, "token type");
  const at::Tensor mask =
      mask_in.defined() ? integer_like(as_batch(mask_in), ids, "attention_mask") : at::ones_like(ids);
  check_range(mask, 2, "attention mask value");
  const bool padded = mask.min().item<std::int64_t>() == 0;
  const at::Tensor keep = mask.to(at::kBool);  // [B, T]

  const auto hook = [&](const std::string& name, const at::Tensor& x) {
    if (!hooks.on_linear_input) return;
    // Statistics over padding rows would describe no real token.
    hooks.on_linear_input(name, padded ? x.index({keep}).unsqueeze(0) : x);
  };
  const auto layer_norm = [&](const at::Tensor& x, const Norm& n) {
    return at::layer_norm(x, {D}, n.weight, n.bias, config_.layer_norm_eps);
  };
  if (!linear_weights_loaded_ && !hooks.replace_matmul)
    throw std::invalid_argument("BertModel::forward: the linears' weights were not loaded; hooks.replace_matmul must compute them");
  const auto dense = [&](const std::string& name, const at::Tensor& x, const Linear& l) {
    if (!hooks.replace_matmul) return at::linear(x, l.weight, l.bias);
    const at::Tensor flat = x.reshape({-1, x.size(-1)}).contiguous();
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = l.bias.size(0);
    return hooks.replace_matmul(name, flat).view(shape) + l.bias;
  };

  const at::Tensor positions = at::arange(T, at::kLong);
  at::Tensor x = word_embeddings_.index_select(0, ids.view({-1})).view({B, T, D}) +
                 token_type_embeddings_.index_select(0, types.view({-1})).view({B, T, D}) +
                 position_embeddings_.index_select(0, positions).unsqueeze(0);
  x = layer_norm(x, embeddings_norm_);

  // Padding keys are excluded by the lowest finite value rather than -inf (transformers adds
  // finfo.min), so that even a row with no real token softmaxes to finite weights.
  const at::Tensor masked_keys = keep.logical_not().view({B, 1, 1, T});
  const double lowest = compute_ == at::kDouble ? std::numeric_limits<double>::lowest()
                                                : static_cast<double>(std::numeric_limits<float>::lowest());
  const double scale = 1.0 / std::sqrt(static_cast<double>(HD));

  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    const std::string p = prefix_ + "encoder.layer." + std::to_string(l) + ".";

    hook(p + "attention.self.query", x);
    hook(p + "attention.self.key", x);
    hook(p + "attention.self.value", x);
    const at::Tensor q = dense(p + "attention.self.query", x, L.query).view({B, T, H, HD}).transpose(1, 2);  // [B, H, T, HD]
    const at::Tensor k = dense(p + "attention.self.key", x, L.key).view({B, T, H, HD}).transpose(1, 2);
    const at::Tensor v = dense(p + "attention.self.value", x, L.value).view({B, T, H, HD}).transpose(1, 2);
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, T, T]
    if (padded) scores = scores.masked_fill(masked_keys, lowest);
    const at::Tensor context = at::matmul(at::softmax(scores, -1), v).transpose(1, 2).reshape({B, T, D});
    hook(p + "attention.output.dense", context);
    // Post-LN: the normalised sum is both the next sublayer's input and its residual.
    x = layer_norm(dense(p + "attention.output.dense", context, L.attention_output) + x, L.attention_norm);

    hook(p + "intermediate.dense", x);
    const at::Tensor act = at::gelu(dense(p + "intermediate.dense", x, L.intermediate));  // exact erf GELU, transformers' "gelu"
    hook(p + "output.dense", act);
    x = layer_norm(dense(p + "output.dense", act, L.output) + x, L.output_norm);
  }
  return batched ? x : x.squeeze(0);
}

at::Tensor BertModel::sentence_embedding(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                         const at::Tensor& token_type_ids, const BertHooks& hooks) const {
  c10::InferenceMode guard;
  const at::Tensor hidden = forward(input_ids, attention_mask, token_type_ids, hooks);
  const bool batched = hidden.dim() == 3;
  const at::Tensor h = batched ? hidden : hidden.unsqueeze(0);
  const at::Tensor mask = attention_mask.defined()
                              ? (batched ? attention_mask : attention_mask.unsqueeze(0)).to(at::kCPU, h.scalar_type())
                              : at::ones({h.size(0), h.size(1)}, h.options());
  // sentence-transformers: sum over masked-in tokens / max(token count, 1e-9), then x / max(||x||_2, 1e-12).
  const at::Tensor m = mask.unsqueeze(-1);
  const at::Tensor mean = (h * m).sum(1) / m.sum(1).clamp_min(1e-9);
  const at::Tensor unit = mean / mean.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
  return batched ? unit : unit.squeeze(0);
}

at::Tensor BertModel::sentence_embedding(const std::vector<std::int64_t>& input_ids, const BertHooks& hooks) const {
  return sentence_embedding(at::tensor(input_ids, at::kLong), {}, {}, hooks);
}

}  // namespace smoothcheck::models
