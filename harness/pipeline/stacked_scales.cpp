#include "harness/pipeline/stacked_scales.h"

#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

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

}  // namespace smoothcheck::pipeline
