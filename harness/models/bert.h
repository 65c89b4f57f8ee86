// A float32 (optionally float64) BERT encoder over any Checkpoint (harness/checkpoint/checkpoint.h),
// written to be read beside transformers' modeling_bert.py: post-LayerNorm blocks with biases, exact
// (erf) GELU, absolute position and token-type embeddings, a padding mask over keys; and
// sentence-transformers' head for all-MiniLM-L6-v2: mean pooling over the attention mask, then L2
// normalisation. The pooler (pooler.dense) is not used by sentence embeddings and is not loaded.
//
// Its purpose is calibration, like LlamaModel's: a hook sees the input of every linear (numerics.md §1).
// BERT is the project's post-LN model, the one where fused norm smoothing is not exact (numerics.md §4,
// smoothing_plan.h's bert_block_graph): its linears' inputs are what shows it.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/checkpoint/checkpoint.h"
#include "harness/models/llama.h"  // LinearInputHook: one calibrator hook type serves both models
#include "kernels/options.h"

namespace smoothcheck::models {

struct BertConfig {
  std::int64_t hidden_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 512;  // transformers' BertConfig defaults from here on
  std::int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::optional<DType> torch_dtype;  // the dtype the weights were saved in, when stated

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

// Parses and validates config.json: required positive integers hidden_size, num_hidden_layers,
// num_attention_heads, intermediate_size, vocab_size; heads dividing hidden_size; positive
// max_position_embeddings and type_vocab_size; positive finite layer_norm_eps; pad_token_id inside the
// vocabulary. Refused rather than ignored, since each would silently be a different model: model_type
// other than "bert", hidden_act other than "gelu" (transformers' exact erf GELU; "gelu_new" and
// "gelu_pytorch_tanh" are the tanh form), position_embedding_type other than "absolute", is_decoder or
// add_cross_attention true. Throws CheckpointError(file, problem) naming the field.
BertConfig read_bert_config(const std::filesystem::path& config_json);
// The same on config.json's already-parsed contents; `file` names it in errors.
BertConfig parse_bert_config(const nlohmann::json& config, const std::filesystem::path& file);

// The same checks on a config built in code; `origin` names it in errors.
void validate_bert_config(const BertConfig& c, const std::filesystem::path& origin);

// sentence-transformers' 1_Pooling/config.json must ask for mean pooling and nothing else (the only head
// this file implements), with word_embedding_dimension equal to hidden_size. Throws CheckpointError.
void check_mean_pooling_config(const std::filesystem::path& pooling_config_json, std::int64_t hidden_size);

struct BertHooks {
  LinearInputHook on_linear_input;  // may be empty
  // When set, computes x·Wᵀ of each per-layer linear (x [N, in_features] contiguous, compute dtype ->
  // [N, out_features]) in place of the model's own weight; the model still adds its bias. The W8A8
  // forward pass runs a quantized export's int8 linears through it.
  std::function<at::Tensor(const std::string& linear_name, const at::Tensor& x)> replace_matmul;
};

class BertModel {
 public:
  // Loads every weight the encoder needs, converted to the compute dtype, checking each shape against
  // the config (CheckpointError naming the checkpoint, the tensor and both shapes). Names are
  // transformers' BertModel names, with or without the "bert." prefix of task-head exports (detected
  // from embeddings.word_embeddings.weight). Tensors the pass does not use (pooler, position_ids,
  // task heads) are ignored.
  //
  // compute is DType::f32 (default: transformers' float32 pass) or DType::f64 (a reference whose own
  // rounding is negligible). Hooks, hidden states and embeddings are in this dtype.
  //
  // load_linear_weights false skips the 6 per-layer linears' weights (biases are still loaded), for a
  // quantized export whose int8 weights only hooks.replace_matmul can use; forward then requires it.
  BertModel(const checkpoint::Checkpoint& weights, const BertConfig& config, DType compute = DType::f32,
            bool load_linear_weights = true);

  const BertConfig& config() const { return config_; }
  const std::string& prefix() const { return prefix_; }  // "" or "bert."

  // input_ids: integer ids, [T] or [B, T]. attention_mask: the same shape, 1 for a token and 0 for
  // padding (integer or bool), or undefined for all ones. token_type_ids: the same shape, in
  // [0, type_vocab_size), or undefined for all zeros. Positions are 0..T-1 in every row (right padding).
  // Returns the last hidden state [T, D] or [B, T, D] in the compute dtype (padding rows included, as
  // transformers returns them). Throws std::invalid_argument for a bad shape or dtype, an id outside the
  // vocabulary, T > max_position_embeddings, or a mask value other than 0/1.
  //
  // Hooks see each linear's input as [B, T, in_features]; when the mask has zeros, only the real tokens'
  // rows, gathered over the batch as [1, N, in_features], so that statistics never count padding.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                     const at::Tensor& token_type_ids = {}, const BertHooks& hooks = {}) const;

  // sentence-transformers' embedding: mean of the last hidden state over the masked-in tokens, divided by
  // its L2 norm. [D] for [T] ids, [B, D] for [B, T].
  at::Tensor sentence_embedding(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                                const at::Tensor& token_type_ids = {}, const BertHooks& hooks = {}) const;
  at::Tensor sentence_embedding(const std::vector<std::int64_t>& input_ids, const BertHooks& hooks = {}) const;

  // The 6 per-layer linears in forward order, with this checkpoint's prefix: the names hooks are called
  // with, each "<name>.weight" in the checkpoint (e.g. "encoder.layer.3.attention.self.query").
  std::vector<std::string> linear_names() const;
  static std::vector<std::string> linear_names(const BertConfig& config, const std::string& prefix = "");

 private:
  struct Linear {
    at::Tensor weight, bias;
  };
  struct Norm {
    at::Tensor weight, bias;
  };
  struct Layer {
    Linear query, key, value, attention_output;
    Norm attention_norm;
    Linear intermediate, output;
    Norm output_norm;
  };

  BertConfig config_;
  c10::ScalarType compute_;
  bool linear_weights_loaded_ = true;
  std::string prefix_;
  at::Tensor word_embeddings_, position_embeddings_, token_type_embeddings_;
  Norm embeddings_norm_;
  std::vector<Layer> layers_;
};

}  // namespace smoothcheck::models
