#include "harness/pipeline/canonical_quantized_view.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::pipeline {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

CanonicalQuantizedView::CanonicalQuantizedView(std::unique_ptr<checkpoint::Checkpoint> underlying,
                                               std::map<std::string, at::Tensor> scales,
                                               std::map<std::string, at::Tensor> migration_scales,
                                               std::map<std::string, at::Tensor> input_scales)
    : underlying_(std::move(underlying)) {
  for (auto& [linear, t] : input_scales) synthesised_[linear + ".input_scale"] = t.to(at::kFloat).reshape({1}).contiguous();
  for (auto& [linear, t] : scales) synthesised_[linear + ".scale"] = t.to(at::kFloat).contiguous();
  for (auto& [linear, t] : migration_scales) synthesised_[linear + ".migration_scale"] = t.to(at::kFloat).contiguous();
}

bool CanonicalQuantizedView::hidden(const std::string& name) const {
  return ends_with(name, ".weight_scale") || ends_with(name, ".input_scale") || synthesised_.count(name) > 0;
}

std::vector<std::string> CanonicalQuantizedView::tensor_names() const {
  std::vector<std::string> names;
  for (const std::string& n : underlying_->tensor_names())
    if (!hidden(n)) names.push_back(n);
  for (const auto& [n, t] : synthesised_) names.push_back(n);
  std::sort(names.begin(), names.end());
  return names;
}

bool CanonicalQuantizedView::contains(const std::string& name) const {
  return synthesised_.count(name) > 0 || (!hidden(name) && underlying_->contains(name));
}

checkpoint::TensorInfo CanonicalQuantizedView::info(const std::string& name) const {
  const auto it = synthesised_.find(name);
  if (it == synthesised_.end()) {
    if (hidden(name)) throw checkpoint::CheckpointError(location(), name, "is not part of the canonical view");
    return underlying_->info(name);
  }
  checkpoint::TensorInfo i;
  i.dtype = DType::f32;
  i.shape = it->second.sizes().vec();
  i.nbytes = static_cast<std::uint64_t>(it->second.numel()) * 4;
  return i;
}

at::Tensor CanonicalQuantizedView::tensor(const std::string& name) const {
  const auto it = synthesised_.find(name);
  if (it != synthesised_.end()) return it->second.clone();
  if (hidden(name)) throw checkpoint::CheckpointError(location(), name, "is not part of the canonical view");
  return underlying_->tensor(name);
}

}  // namespace smoothcheck::pipeline
