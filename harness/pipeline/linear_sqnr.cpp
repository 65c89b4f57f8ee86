#include "harness/pipeline/linear_sqnr.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <ATen/ATen.h>

#include "harness/pipeline/verify_rederivation.h"
#include "harness/pipeline/w8a8_linears.h"

namespace smoothcheck::pipeline {

std::vector<LinearSqnr> linear_output_sqnr(const models::LlamaModel& original, const checkpoint::Checkpoint& original_ckpt,
                                           const at::Tensor& tokens, const checkpoint::Checkpoint& quantized,
                                           const std::vector<QuantizedLinear>& linears,
                                           const std::vector<SmoothingGroup>& groups, const QuantizationConfig& qc,
                                           kernels::Backend& backend) {
  std::map<std::string, at::Tensor> inputs;
  for (const QuantizedLinear& l : linears) inputs[l.name] = at::Tensor();
  models::LlamaHooks hooks;
  hooks.on_linear_input = [&](const std::string& name, const at::Tensor& x) {
    const auto it = inputs.find(name);
    if (it != inputs.end()) it->second = x.reshape({-1, x.size(-1)}).to(at::kFloat).contiguous().clone();
  };
  original.forward(tokens, hooks);

  // Fused mode: an fc -> fc source's rows were divided by its group's s (that of the group's first fc).
  const std::map<std::string, std::string> row_divided_by = fused_row_divisors(groups, qc.mode);

  const W8A8Linears w8a8(quantized, linears, qc, backend);
  std::vector<LinearSqnr> out;
  for (const QuantizedLinear& l : linears) {
    const at::Tensor& x = inputs.at(l.name);
    if (!x.defined()) continue;
    const at::Tensor w = original_ckpt.tensor(l.name + ".weight").to(at::kFloat);
    const at::Tensor y = at::linear(x, w).to(at::kDouble);
    at::Tensor in = x;
    if (qc.mode == SmoothMode::fused && quantized.contains(l.name + ".migration_scale"))
      in = (x / quantized.tensor(l.name + ".migration_scale").to(at::kFloat)).contiguous();
    at::Tensor yq = w8a8.matmul(l.name, in).to(at::kDouble);
    if (const auto d = row_divided_by.find(l.name); d != row_divided_by.end())
      yq = yq * quantized.tensor(d->second + ".migration_scale").to(at::kDouble);
    const double signal = y.pow(2).sum().item<double>(), noise = (y - yq).pow(2).sum().item<double>();
    out.push_back({l.name, noise > 0 ? 10 * std::log10(signal / noise) : INFINITY});
  }
  std::sort(out.begin(), out.end(), [](const LinearSqnr& a, const LinearSqnr& b) { return a.sqnr_db < b.sqnr_db; });
  return out;
}

}  // namespace smoothcheck::pipeline
