#include "harness/pipeline/bert_layout.h"

#include <map>
#include <stdexcept>

namespace smoothcheck::pipeline {

std::string bert_layer_prefix(const std::string& model_prefix, int64_t layer) {
  return model_prefix + "encoder.layer." + std::to_string(layer) + ".";
}

std::string bert_prefix(const checkpoint::Checkpoint& ckpt) {
  return ckpt.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
}

std::vector<QuantizedLinear> bert_quantized_linears(const models::BertConfig& c, const std::string& prefix) {
  const int64_t D = c.hidden_size, I = c.intermediate_size;
  std::vector<QuantizedLinear> out;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = bert_layer_prefix(prefix, l);
    out.push_back({p + "attention.self.query", D, D, true});
    out.push_back({p + "attention.self.key", D, D, true});
    out.push_back({p + "attention.self.value", D, D, true});
    out.push_back({p + "attention.output.dense", D, D, true});
    out.push_back({p + "intermediate.dense", D, I, true});
    out.push_back({p + "output.dense", I, D, true});
  }
  return out;
}

std::vector<NormSpec> bert_norms(const models::BertConfig& c, const std::string& prefix) {
  std::vector<NormSpec> out{{prefix + "embeddings.LayerNorm", c.hidden_size}};
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = bert_layer_prefix(prefix, l);
    out.push_back({p + "attention.output.LayerNorm", c.hidden_size});
    out.push_back({p + "output.LayerNorm", c.hidden_size});
  }
  return out;
}

std::vector<SmoothingGroup> bert_smoothing_groups(const models::BertConfig& c, const std::string& prefix,
                                                  SmoothMode mode) {
  BlockDims d;
  d.hidden = c.hidden_size;
  d.intermediate = c.intermediate_size;
  d.heads = d.kv_heads = c.num_attention_heads;
  const PlanValidation v = validate_smoothing_plan(bert_block_graph(d), bert_smoothing_plan(d, mode));
  if (!v.valid())
    throw std::invalid_argument(std::string("smoothing BERT in ") + to_string(mode) +
                                " mode is not an exact mapping (post-LayerNorm blocks):\n" + v.message() +
                                "use --mode migration: each linear then divides its own input by s at run time");
  // The block plan names the layer's own modules and "next." for the following layer's q/k/v; laid out
  // over the whole model, layer l's q/k/v read the previous layer's output LayerNorm, or the embeddings'.
  std::vector<SmoothingGroup> out;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = bert_layer_prefix(prefix, l);
    const std::string qkv_source =
        l == 0 ? prefix + "embeddings.LayerNorm" : bert_layer_prefix(prefix, l - 1) + "output.LayerNorm";
    out.push_back({qkv_source, SourceKind::norm,
                   {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"}});
    out.push_back({p + "attention.self.value", SourceKind::linear, {p + "attention.output.dense"}});
    out.push_back({p + "attention.output.LayerNorm", SourceKind::norm, {p + "intermediate.dense"}});
    out.push_back({p + "intermediate.dense", SourceKind::linear, {p + "output.dense"}});
  }
  return out;
}

std::vector<StackedGroup> bert_stacked_groups(const models::BertConfig& c, const std::string& prefix) {
  const std::vector<QuantizedLinear> linears = bert_quantized_linears(c, prefix);
  std::vector<StackedGroup> out;
  for (std::size_t i = 0; i < linears.size(); i += 6)
    out.push_back({bert_layer_prefix(prefix, static_cast<int64_t>(i / 6)) + "attention.self.qkv",
                   {linears[i], linears[i + 1], linears[i + 2]}});
  return out;
}

std::vector<ExportTensor> bert_export_tensors(const checkpoint::Checkpoint& original,
                                              const std::vector<QuantizedLinear>& linears, bool with_migration_scales) {
  std::map<std::string, const QuantizedLinear*> by_weight;
  for (const QuantizedLinear& q : linears) by_weight[q.name + ".weight"] = &q;
  std::vector<ExportTensor> out;
  for (const std::string& name : original.tensor_names()) {
    auto it = by_weight.find(name);
    if (it == by_weight.end()) {
      const checkpoint::TensorInfo info = original.info(name);
      out.push_back({name, info.dtype, info.shape});
      continue;
    }
    const QuantizedLinear& q = *it->second;
    out.push_back({q.name + ".weight", DType::i8, {q.out_features, q.in_features}});
    out.push_back({q.name + ".scale", DType::f32, {q.out_features, 1}});
    if (with_migration_scales) out.push_back({q.name + ".migration_scale", DType::f32, {q.in_features}});
  }
  return out;
}

}  // namespace smoothcheck::pipeline
