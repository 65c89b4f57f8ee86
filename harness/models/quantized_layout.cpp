#include "harness/models/quantized_layout.h"

#include <cstring>
#include <stdexcept>

#include "harness/checkpoint/llama_config.h"

namespace smoothcheck {

QuantizedLayoutConfig layout_config_from(const checkpoint::LlamaConfig& c, DType fallback) {
  QuantizedLayoutConfig q;
  q.hidden_size = c.hidden_size;
  q.intermediate_size = c.intermediate_size;
  q.num_hidden_layers = c.num_hidden_layers;
  q.num_attention_heads = c.num_attention_heads;
  q.num_key_value_heads = c.num_key_value_heads;
  q.vocab_size = c.vocab_size;
  q.tie_word_embeddings = c.tie_word_embeddings;
  q.dtype = c.torch_dtype.value_or(fallback);
  return q;  // LlamaConfig refuses biases, so both stay false
}

void validate_layout_config(const QuantizedLayoutConfig& c) {
  auto positive = [](int64_t v, const char* field) {
    if (v <= 0) throw std::invalid_argument(std::string("quantized layout: ") + field + " must be positive, got " +
                                            std::to_string(v));
  };
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.num_key_value_heads, "num_key_value_heads");
  positive(c.vocab_size, "vocab_size");
  if (c.hidden_size % c.num_attention_heads != 0)
    throw std::invalid_argument("quantized layout: num_attention_heads " + std::to_string(c.num_attention_heads) +
                                " does not divide hidden_size " + std::to_string(c.hidden_size));
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw std::invalid_argument("quantized layout: num_key_value_heads " + std::to_string(c.num_key_value_heads) +
                                " does not divide num_attention_heads " + std::to_string(c.num_attention_heads));
  if (c.dtype != DType::f16 && c.dtype != DType::bf16 && c.dtype != DType::f32)
    throw std::invalid_argument(std::string("quantized layout: model dtype ") + to_string(c.dtype) +
                                " is not f16, bf16 or f32");
}

std::vector<QuantizedLinear> quantized_linears(const QuantizedLayoutConfig& c) {
  validate_layout_config(c);
  const int64_t D = c.hidden_size, I = c.intermediate_size, KV = c.kv_dim();
  std::vector<QuantizedLinear> out;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "self_attn.q_proj", D, D, c.attention_bias});
    out.push_back({p + "self_attn.k_proj", D, KV, c.attention_bias});
    out.push_back({p + "self_attn.v_proj", D, KV, c.attention_bias});
    out.push_back({p + "self_attn.o_proj", D, D, c.attention_bias});
    out.push_back({p + "mlp.gate_proj", D, I, c.mlp_bias});
    out.push_back({p + "mlp.up_proj", D, I, c.mlp_bias});
    out.push_back({p + "mlp.down_proj", I, D, c.mlp_bias});
  }
  return out;
}

int64_t ExportTensor::bytes() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n * int64_t(dtype_size(dtype));
}

std::vector<ExportTensor> quantized_export_tensors(const QuantizedLayoutConfig& c, bool with_migration_scales) {
  const std::vector<QuantizedLinear> linears = quantized_linears(c);  // validates
  const int64_t D = c.hidden_size, V = c.vocab_size;
  std::vector<ExportTensor> out;
  out.push_back({"model.embed_tokens.weight", c.dtype, {V, D}});
  std::size_t next_linear = 0;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    out.push_back({p + "input_layernorm.weight", c.dtype, {D}});
    out.push_back({p + "post_attention_layernorm.weight", c.dtype, {D}});
    for (int i = 0; i < 7; ++i, ++next_linear) {
      const QuantizedLinear& q = linears[next_linear];
      out.push_back({q.name + ".weight", DType::i8, {q.out_features, q.in_features}});
      out.push_back({q.name + ".scale", DType::f32, {q.out_features, 1}});
      if (with_migration_scales) out.push_back({q.name + ".migration_scale", DType::f32, {q.in_features}});
      if (q.has_bias) out.push_back({q.name + ".bias", c.dtype, {q.out_features}});
    }
  }
  out.push_back({"model.norm.weight", c.dtype, {D}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", c.dtype, {V, D}});
  return out;
}

int64_t total_size(const std::vector<ExportTensor>& tensors) {
  int64_t sum = 0;
  for (const ExportTensor& t : tensors) sum += t.bytes();
  return sum;
}

int64_t quantized_export_total_size(const QuantizedLayoutConfig& c, bool with_migration_scales) {
  return total_size(quantized_export_tensors(c, with_migration_scales));
}

std::vector<StackedParameter> llama_stacked_parameters() {
  return {{"qkv_proj", {"q_proj", "k_proj", "v_proj"}}, {"gate_up_proj", {"gate_proj", "up_proj"}}};
}

std::vector<float> stacked_migration_scale(const std::string& stacked_name, const std::vector<MemberScale>& members) {
  if (members.empty())
    throw std::invalid_argument(stacked_name + ".migration_scale: no member scales to stack");
  const MemberScale& first = members.front();
  for (std::size_t m = 1; m < members.size(); ++m) {
    const MemberScale& other = members[m];
    const std::string pair = first.name + " and " + other.name;
    if (other.values.size() != first.values.size())
      throw std::invalid_argument(stacked_name + ".migration_scale: " + pair + " have different lengths (" +
                                  std::to_string(first.values.size()) + " and " + std::to_string(other.values.size()) +
                                  "); a migration scale is [in_features], shared by every member");
    for (std::size_t j = 0; j < first.values.size(); ++j) {
      // Bitwise, so that -0/+0 or two NaN payloads are not quietly merged either.
      if (std::memcmp(&first.values[j], &other.values[j], sizeof(float)) != 0)
        throw std::invalid_argument(stacked_name + ".migration_scale: " + pair + " differ at input channel " +
                                    std::to_string(j) + " (" + std::to_string(first.values[j]) + " vs " +
                                    std::to_string(other.values[j]) +
                                    "); members concatenated along the output dimension must share one input-side "
                                    "vector, it cannot be loaded as output shards");
    }
  }
  return first.values;
}

}  // namespace smoothcheck
