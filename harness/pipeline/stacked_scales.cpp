#include "harness/pipeline/stacked_scales.h"

#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/quantized_layout.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

std::map<std::string, std::vector<float>> load_stacked_migration_scales(const checkpoint::Checkpoint& ckpt,
                                                                        const checkpoint::LlamaConfig& config) {
  const std::vector<QuantizedLinear> linears = quantized_linears(layout_config_from(config, DType::f32));
  std::map<std::string, std::vector<float>> out;
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
    for (const StackedParameter& sp : llama_stacked_parameters()) {
      std::vector<MemberScale> members;
      std::string stacked;
      for (const std::string& member : sp.members) {
        const QuantizedLinear* ql = nullptr;
        for (const QuantizedLinear& q : linears)
          if (q.name.rfind(layer, 0) == 0 && q.name.size() > member.size() &&
              q.name.compare(q.name.size() - member.size() - 1, std::string::npos, "." + member) == 0)
            ql = &q;
        if (!ql) throw std::logic_error("no linear " + layer + "*." + member + " in the quantized layout");
        // The stacked parameter sits beside its members: model.layers.L.self_attn.qkv_proj.
        stacked = ql->name.substr(0, ql->name.size() - member.size()) + sp.name;
        const std::string name = ql->name + ".migration_scale";
        if (!ckpt.contains(name))
          throw CheckpointError(ckpt.location(), stacked, "member " + name + " is absent");
        at::Tensor t = ckpt.tensor(name);
        if (t.scalar_type() != at::kFloat || t.sizes().vec() != std::vector<int64_t>{ql->in_features})
          throw CheckpointError(ckpt.location(), name,
                                "is " + std::string(t.dtype().name()) + " " + checkpoint::shape_string(t.sizes().vec()) +
                                    ", expected float32 [" + std::to_string(ql->in_features) + "] (in_features)");
        t = t.contiguous();
        members.push_back({name, std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())});
      }
      try {
        out[stacked] = stacked_migration_scale(stacked, members);
      } catch (const std::invalid_argument& e) {
        throw CheckpointError(ckpt.location(), stacked, e.what());
      }
    }
  }
  return out;
}

}  // namespace smoothcheck::pipeline
