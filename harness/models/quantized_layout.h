// The tensors of a W8A8 export of a LLaMA-style model (numerics.md §11), computed from its
// configuration alone: names, dtypes, shapes and byte sizes, so that an exporter's
// `metadata.total_size` and an engine loader's expectations can be checked before any weight is read.
//
// Every quantised linear <name> has <name>.weight int8 [O, C] and <name>.scale float32 [O, 1]
// (lmdeploy QLinear's layout) and, with migration scales, <name>.migration_scale float32 [C]: the
// scale lives on the *input* dimension. Everything else (embeddings, norms, biases, an untied lm_head)
// keeps the model dtype. lm_head is not quantised (lmdeploy and the seed leave it in fp16).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/options.h"

namespace smoothcheck {

namespace checkpoint {
struct LlamaConfig;
}

struct QuantizedLayoutConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t vocab_size = 0;
  bool attention_bias = false;  // q/k/v/o biases (Qwen-style q/k/v-only biases are not modelled)
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  DType dtype = DType::f16;  // the unquantised tensors' dtype

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t kv_dim() const { return head_dim() * num_key_value_heads; }
};

// From a validated checkpoint::LlamaConfig; its torch_dtype when stated, else `fallback`.
QuantizedLayoutConfig layout_config_from(const checkpoint::LlamaConfig& c, DType fallback = DType::f16);

// Throws std::invalid_argument naming the field when a size is not positive or the heads do not
// divide the hidden size / each other.
void validate_layout_config(const QuantizedLayoutConfig& c);

struct QuantizedLinear {
  std::string name;  // "model.layers.3.self_attn.q_proj"
  int64_t in_features = 0;
  int64_t out_features = 0;
  bool has_bias = false;
};

// The 7 linears of every layer, in forward order (lm_head excluded: not quantised).
std::vector<QuantizedLinear> quantized_linears(const QuantizedLayoutConfig& c);

struct ExportTensor {
  std::string name;
  DType dtype = DType::f16;
  std::vector<int64_t> shape;
  int64_t bytes() const;
};

std::vector<ExportTensor> quantized_export_tensors(const QuantizedLayoutConfig& c, bool with_migration_scales);

int64_t total_size(const std::vector<ExportTensor>& tensors);
int64_t quantized_export_total_size(const QuantizedLayoutConfig& c, bool with_migration_scales);

// Engines load q/k/v (and gate/up) as one stacked parameter, concatenated along the *output*
// dimension. A migration scale is on the input dimension, shared by the members: the stacked
// parameter carries one [C] vector, which exists only if every member's vector is identical.
struct StackedParameter {
  std::string name;                  // "qkv_proj", "gate_up_proj"
  std::vector<std::string> members;  // "q_proj", "k_proj", "v_proj"
};
std::vector<StackedParameter> llama_stacked_parameters();

struct MemberScale {
  std::string name;
  std::vector<float> values;
};
// The stacked parameter's migration scale: the members' common vector. Throws std::invalid_argument
// naming the stacked parameter, the members and the first differing channel (or the sizes) when the
// vectors are not bit-identical, or when there are no members.
std::vector<float> stacked_migration_scale(const std::string& stacked_name, const std::vector<MemberScale>& members);

}  // namespace smoothcheck
