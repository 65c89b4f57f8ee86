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
  explicit CanonicalQuantizedView(std::unique_ptr<checkpoint::Checkpoint> underlying)
      : underlying_(std::move(underlying)) {}

  // A quantised linear's float32 row scales [out, 1] and its s [in], added as the audit reaches its
  // layer (one view serves every layer's re-derivation and then the forward).
  void set_linear(const std::string& linear, const at::Tensor& scales, const at::Tensor& migration_scale);
  // The static input scale [1] a linear runs with.
  void set_input_scale(const std::string& linear, const at::Tensor& input_scale);

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
