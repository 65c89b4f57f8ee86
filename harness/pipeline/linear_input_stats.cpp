#include "harness/pipeline/linear_input_stats.h"

#include <stdexcept>

#include <ATen/ATen.h>

namespace smoothcheck::pipeline {

LinearInputStats::LinearInputStats(kernels::Backend& backend, std::set<std::string> linears) : backend_(&backend) {
  for (const std::string& name : linears) running_[name] = nullptr;
}

void LinearInputStats::record(const std::string& linear, const at::Tensor& x) {
  auto it = running_.find(linear);
  if (it == running_.end()) return;
  const at::Tensor xs = (x.dim() == 2 ? x.unsqueeze(0) : x).to(at::kFloat).contiguous();
  const int64_t C = xs.size(-1);
  if (!it->second) it->second = std::make_unique<kernels::RunningChannelStats>(C);
  for (int64_t b = 0; b < xs.size(0); ++b) {
    const at::Tensor slice = xs.select(0, b);
    it->second->update(*backend_, kernels::ConstMatrix{slice.data_ptr<float>(), DType::f32, slice.size(0), C, C});
  }
}

CalibrationStats LinearInputStats::result() const {
  CalibrationStats out;
  for (const auto& [name, r] : running_) {
    if (!r) throw std::logic_error("calibration: the forward pass never fed linear " + name);
    LinearStats s;
    s.absmax = r->absmax();
    s.min = r->min();
    s.max = r->max();
    s.mean = r->mean();
    s.absmean = r->absmean();
    out.linears[name] = std::move(s);
  }
  return out;
}

}  // namespace smoothcheck::pipeline
