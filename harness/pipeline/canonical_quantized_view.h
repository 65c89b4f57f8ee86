// A third-party checkpoint seen through smoothcheck's own export names (issue 14), so that verify's
// re-derivation (verify_rederivation.h) and the W8A8 forward (w8a8_linears.h) run on it unchanged:
//   <linear>.scale            float32 [out, 1]: compressed-tensors' weight_scale (in the model's dtype,
//                             [out, 1] or a per-tensor [1] repeated per row), lmdeploy's scale as stored
//   <linear>.migration_scale  float32 [in]: the s the audit recovered from the folded norms and fcs
//                             (recovered_smoothing.h), never a stored number: these formats keep none
//   <linear>.input_scale      float32 [1], static inputs only: the scale the engine's loader runs the
//                             linear with (vLLM: the maximum over a stacked parameter's shards)
// Every other tensor is the underlying checkpoint's; its weight_scale and input_scale tensors are hidden
// (the audit checks them on the checkpoint itself). Nothing is written: the view lives in memory.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"

namespace smoothcheck::pipeline {

class CanonicalQuantizedView final : public checkpoint::Checkpoint {
 public:
  // `scales`: each quantised linear's float32 row scales [out, 1]; `migration_scales`: its s [in];
  // `input_scales`: the static input scale [1] of the linears that have one.
  CanonicalQuantizedView(std::unique_ptr<checkpoint::Checkpoint> underlying, std::map<std::string, at::Tensor> scales,
                         std::map<std::string, at::Tensor> migration_scales,
                         std::map<std::string, at::Tensor> input_scales = {});

  checkpoint::CheckpointFormat format() const override { return underlying_->format(); }
  const std::filesystem::path& location() const override { return underlying_->location(); }
  std::vector<std::string> tensor_names() const override;
  bool contains(const std::string& name) const override;
  checkpoint::TensorInfo info(const std::string& name) const override;
  at::Tensor tensor(const std::string& name) const override;
  checkpoint::OpaqueTensors opaque_tensors() const override { return underlying_->opaque_tensors(); }
  std::optional<std::uint64_t> declared_total_size() const override { return underlying_->declared_total_size(); }

 private:
  bool hidden(const std::string& name) const;
  std::unique_ptr<checkpoint::Checkpoint> underlying_;
  std::map<std::string, at::Tensor> synthesised_;  // "<linear>.scale", ".migration_scale", ".input_scale"
};

}  // namespace smoothcheck::pipeline
