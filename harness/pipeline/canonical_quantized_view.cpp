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

void CanonicalQuantizedView::set_linear(const std::string& linear, const at::Tensor& scales,
                                        const at::Tensor& migration_scale) {
  synthesised_[linear + ".scale"] = scales.to(at::kFloat).contiguous();
  synthesised_[linear + ".migration_scale"] = migration_scale.to(at::kFloat).contiguous();
}

void CanonicalQuantizedView::set_input_scale(const std::string& linear, const at::Tensor& input_scale) {
  synthesised_[linear + ".input_scale"] = input_scale.to(at::kFloat).reshape({1}).contiguous();
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
