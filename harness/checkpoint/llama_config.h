// The LLaMA hyper-parameters of a Hugging Face config.json, validated, or derived from a llama2.c
// header. Fields that change the computation but that the forward pass does not implement
// (rope_scaling, attention/mlp biases, an activation other than SiLU) are refused rather than
// ignored: a silently different model would make every downstream comparison meaningless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/options.h"

namespace smoothcheck::checkpoint {

struct Llama2cHeader;

// More layers than this is refused as hostile rather than believed: the deepest public LLaMA-family
// models have about 130, and every consumer (the list of quantised linears, a llama2.c file's tensor
// table, calibration) keeps a few entries per layer before reading any weight, so a header claiming
// 10^12 layers would otherwise exhaust memory on bookkeeping alone.
inline constexpr std::int64_t kMaxHiddenLayers = 4096;

struct LlamaConfig {
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // defaults to num_attention_heads, as in transformers
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;    // transformers' LlamaConfig default
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;  // transformers' LlamaConfig default
  std::optional<DType> torch_dtype;  // the dtype the weights were saved in, when stated

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::int64_t kv_dim() const { return head_dim() * num_key_value_heads; }
};

// Parses and validates config.json: required positive integers hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, vocab_size; heads dividing hidden_size into an even
// head_dim; num_key_value_heads dividing num_attention_heads; at most kMaxHiddenLayers layers; positive
// rms_norm_eps and rope_theta;
// model_type "llama" when present. Throws CheckpointError(file, problem) naming the field.
LlamaConfig read_llama_config(const std::filesystem::path& config_json);
// The same on config.json's already-parsed contents; `file` names it in errors.
LlamaConfig parse_llama_config(const nlohmann::json& config, const std::filesystem::path& file);

// The same checks on a config built in code (or from a llama2.c header); `origin` names it in errors.
void validate_llama_config(const LlamaConfig& c, const std::filesystem::path& origin);

// The config a llama2.c header implies (rms_norm_eps 1e-5 and rope_theta 10000 are run.c's constants).
LlamaConfig llama_config_from_llama2c(const Llama2cHeader& h);

}  // namespace smoothcheck::checkpoint
