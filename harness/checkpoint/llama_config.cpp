#include "harness/checkpoint/llama_config.h"

#include <cmath>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/json_text.h"
#include "harness/checkpoint/llama2c_reader.h"

namespace smoothcheck::checkpoint {

namespace {

using json = nlohmann::json;

}  // namespace

void validate_llama_config(const LlamaConfig& c, const std::filesystem::path& origin) {
  const auto positive = [&](const char* name, std::int64_t v) { require_positive(origin, name, v); };
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("num_key_value_heads", c.num_key_value_heads);
  positive("vocab_size", c.vocab_size);
  positive("max_position_embeddings", c.max_position_embeddings);
  if (c.num_hidden_layers > kMaxHiddenLayers)
    throw CheckpointError(origin, "num_hidden_layers " + std::to_string(c.num_hidden_layers) + " exceeds the limit of " +
                                      std::to_string(kMaxHiddenLayers) + " (no real model is that deep)");
  if (c.hidden_size % c.num_attention_heads != 0)
    throw CheckpointError(origin, "num_attention_heads " + std::to_string(c.num_attention_heads) +
                                      " does not divide hidden_size " + std::to_string(c.hidden_size));
  if (c.head_dim() % 2 != 0)
    throw CheckpointError(origin, "head_dim " + std::to_string(c.head_dim()) + " is odd; RoPE rotates pairs");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw CheckpointError(origin, "num_key_value_heads " + std::to_string(c.num_key_value_heads) +
                                      " does not divide num_attention_heads " + std::to_string(c.num_attention_heads));
  if (!(c.rms_norm_eps > 0) || !std::isfinite(c.rms_norm_eps))
    throw CheckpointError(origin, "rms_norm_eps " + std::to_string(c.rms_norm_eps) + " is not a positive finite number");
  if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta))
    throw CheckpointError(origin, "rope_theta " + std::to_string(c.rope_theta) + " is not a positive finite number");
}

LlamaConfig read_llama_config(const std::filesystem::path& file) { return parse_llama_config(read_config_json(file), file); }

LlamaConfig parse_llama_config(const nlohmann::json& j, const std::filesystem::path& file) {
  if (!j.is_object()) throw CheckpointError(file, "config.json is " + json_kind(j) + ", not an object");

  if (auto mt = config_string(j, "model_type", file); mt && *mt != "llama")
    throw CheckpointError(file, "model_type is '" + *mt + "'; only 'llama' is implemented");
  if (auto act = config_string(j, "hidden_act", file); act && *act != "silu")
    throw CheckpointError(file, "hidden_act is '" + *act + "'; LLaMA's SwiGLU uses 'silu'");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw CheckpointError(file, "rope_scaling " + j["rope_scaling"].dump() + " is not implemented");
  for (const char* bias : {"attention_bias", "mlp_bias"})
    if (config_bool(j, bias, file).value_or(false))
      throw CheckpointError(file, std::string(bias) + " is true; the forward pass has no linear biases");

  LlamaConfig c;
  c.hidden_size = required_config_int(j, "hidden_size", file);
  c.intermediate_size = required_config_int(j, "intermediate_size", file);
  c.num_hidden_layers = required_config_int(j, "num_hidden_layers", file);
  c.num_attention_heads = required_config_int(j, "num_attention_heads", file);
  c.vocab_size = required_config_int(j, "vocab_size", file);
  c.num_key_value_heads = config_int(j, "num_key_value_heads", file).value_or(c.num_attention_heads);
  c.max_position_embeddings = config_int(j, "max_position_embeddings", file).value_or(c.max_position_embeddings);
  c.rms_norm_eps = config_number(j, "rms_norm_eps", file).value_or(c.rms_norm_eps);
  c.rope_theta = config_number(j, "rope_theta", file).value_or(c.rope_theta);
  c.tie_word_embeddings = config_bool(j, "tie_word_embeddings", file).value_or(c.tie_word_embeddings);
  if (auto dt = config_string(j, "torch_dtype", file)) {
    c.torch_dtype = dtype_from_torch_name(*dt);
    // float64 is a dtype the readers know, but not one a LLaMA checkpoint is quantised from: the
    // export keeps unquantised tensors in the model dtype (quantized_layout.h: f32, f16 or bf16), and
    // every pipeline command would otherwise fail later without naming this file.
    if (!c.torch_dtype || *c.torch_dtype == DType::f64)
      throw CheckpointError(file, "torch_dtype '" + *dt + "' is not float32, float16 or bfloat16");
  }
  validate_llama_config(c, file);
  // Newer configs state head_dim explicitly; it must then agree with the one the forward pass uses.
  if (auto hd = config_int(j, "head_dim", file); hd && *hd != c.head_dim())
    throw CheckpointError(file, "head_dim " + std::to_string(*hd) + " differs from hidden_size / num_attention_heads = " +
                                    std::to_string(c.head_dim()));
  return c;
}

LlamaConfig llama_config_from_llama2c(const Llama2cHeader& h) {
  LlamaConfig c;
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_hidden_layers = h.n_layers;
  c.num_attention_heads = h.n_heads;
  c.num_key_value_heads = h.n_kv_heads;
  c.vocab_size = h.vocab_size;
  c.max_position_embeddings = h.seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = h.shared_classifier;
  c.torch_dtype = DType::f32;
  return c;
}

}  // namespace smoothcheck::checkpoint
