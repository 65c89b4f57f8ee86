#include "harness/pipeline/stacked_scales.h"

#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

std::vector<StackedGroup> llama_stacked_groups(const checkpoint::LlamaConfig& config) {
  const std::vector<QuantizedLinear> linears = quantized_linears(layout_config_from(config, DType::f32));
  std::vector<StackedGroup> groups;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
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
                                                                        const std::vector<StackedGroup>& groups) {
  std::map<std::string, std::vector<float>> out;
  for (const StackedGroup& g : groups) {
    std::vector<MemberScale> members;
    for (const QuantizedLinear& ql : g.members) {
      const std::string name = ql.name + ".migration_scale";
      if (!ckpt.contains(name)) throw CheckpointError(ckpt.location(), g.name, "member " + name + " is absent");
      at::Tensor t = ckpt.tensor(name);
      if (t.scalar_type() != at::kFloat || t.sizes().vec() != std::vector<int64_t>{ql.in_features})
        throw CheckpointError(ckpt.location(), name,
                              "is " + std::string(t.dtype().name()) + " " + checkpoint::shape_string(t.sizes().vec()) +
                                  ", expected float32 [" + std::to_string(ql.in_features) + "] (in_features)");
      t = t.contiguous();
      members.push_back({name, std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())});
    }
    try {
      out[g.name] = stacked_migration_scale(g.name, members);
    } catch (const std::invalid_argument& e) {
      throw CheckpointError(ckpt.location(), g.name, e.what());
    }
  }
  return out;
}

std::map<std::string, std::vector<float>> load_stacked_migration_scales(const checkpoint::Checkpoint& ckpt,
                                                                        const checkpoint::LlamaConfig& config) {
  return load_stacked_migration_scales(ckpt, llama_stacked_groups(config));
}

}  // namespace smoothcheck::pipeline
