#include "harness/pipeline/llama_layout.h"

#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

DType llama_stored_dtype(const checkpoint::Checkpoint& ckpt) {
  // The embedding decides the model's dtype, as config.json's torch_dtype may not match the bytes.
  const std::string name = "model.embed_tokens.weight";
  if (!ckpt.contains(name)) throw checkpoint::CheckpointError(ckpt.location(), name, "absent, but the config requires it");
  return ckpt.info(name).dtype;
}

std::vector<NormSpec> llama_norms(const checkpoint::LlamaConfig& config) {
  std::vector<NormSpec> norms;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l)
    for (const char* n : {"input_layernorm", "post_attention_layernorm"})
      norms.push_back({layer_prefix(l) + n, config.hidden_size});
  return norms;
}

BlockDims block_dims(const checkpoint::LlamaConfig& c) {
  BlockDims d;
  d.hidden = c.hidden_size;
  d.intermediate = c.intermediate_size;
  d.heads = c.num_attention_heads;
  d.kv_heads = c.num_key_value_heads;
  return d;
}

SmoothingPlan checked_llama_plan(const checkpoint::LlamaConfig& c, SmoothMode mode, bool fc_to_fc_pairs) {
  const BlockDims d = block_dims(c);
  SmoothingPlan plan = llama_smoothing_plan(d, mode);
  if (!fc_to_fc_pairs) plan = without_fc_to_fc_groups(std::move(plan));
  const PlanValidation v = validate_smoothing_plan(llama_block_graph(d), plan);
  if (!v.valid()) throw std::invalid_argument("the LLaMA smoothing plan is not exact:\n" + v.message());
  return plan;
}

std::vector<SmoothingGroup> llama_model_groups(const checkpoint::LlamaConfig& config, const SmoothingPlan& plan) {
  std::vector<SmoothingGroup> groups;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = layer_prefix(l);
    for (const SmoothingGroup& g : plan.groups) {
      SmoothingGroup full{p + g.source, g.kind, {}};
      for (const std::string& fc : g.fcs) full.fcs.push_back(p + fc);
      groups.push_back(std::move(full));
    }
  }
  return groups;
}

std::vector<StackedGroup> llama_stacked_groups(const checkpoint::LlamaConfig& config) {
  const std::vector<QuantizedLinear> linears = quantized_linears(layout_config_from(config, DType::f32));
  std::vector<StackedGroup> groups;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string layer = layer_prefix(l);
    for (const StackedParameter& sp : llama_stacked_parameters()) {
      StackedGroup g;
      for (const std::string& member : sp.members) {
        const QuantizedLinear* ql = nullptr;
        for (const QuantizedLinear& q : linears)
          if (q.name.rfind(layer, 0) == 0 && q.name.size() > member.size() &&
              q.name.compare(q.name.size() - member.size() - 1, std::string::npos, "." + member) == 0)
            ql = &q;
        if (!ql) throw std::logic_error("no linear " + layer + "*." + member + " in the quantized layout");
        // The stacked parameter sits beside its members: model.layers.L.self_attn.qkv_proj.
        g.name = ql->name.substr(0, ql->name.size() - member.size()) + sp.name;
        g.members.push_back(*ql);
      }
      groups.push_back(std::move(g));
    }
  }
  return groups;
}

std::map<std::string, std::vector<float>> load_stacked_migration_scales(const checkpoint::Checkpoint& ckpt,
                                                                        const checkpoint::LlamaConfig& config) {
  return load_stacked_migration_scales(ckpt, llama_stacked_groups(config));
}

CalibrationStats read_calibration_stats(const std::filesystem::path& file, const checkpoint::LlamaConfig& config) {
  return read_calibration_stats(file, quantized_linears(layout_config_from(config, DType::f32)));
}

}  // namespace smoothcheck::pipeline
