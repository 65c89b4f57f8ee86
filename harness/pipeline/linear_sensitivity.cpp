#include "harness/pipeline/linear_sensitivity.h"

#include <algorithm>
#include <set>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace smoothcheck::pipeline {

std::vector<LinearSensitivity> linear_sensitivity(const ModelFamily& original, const checkpoint::Checkpoint& exported,
                                                  const QuantizationConfig& qc, kernels::Backend& backend,
                                                  const std::vector<int64_t>& sequence) {
  c10::InferenceMode guard;
  const at::Tensor tokens = at::tensor(sequence, at::kLong);
  const at::Tensor reference = original.forward(tokens).to(at::kFloat);
  std::set<std::string> all;
  for (const QuantizedLinear& l : original.linears()) all.insert(l.name);
  std::vector<LinearSensitivity> out;
  for (const QuantizedLinear& l : original.linears()) {
    LinearSensitivity s;
    s.name = l.name;
    s.alone = compare_logits(reference, original.partly_quantized_forward(exported, qc, backend, {l.name}, tokens),
                             sequence);
    std::set<std::string> others = all;
    others.erase(l.name);
    s.all_but = compare_logits(reference, original.partly_quantized_forward(exported, qc, backend, others, tokens),
                               sequence);
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const LinearSensitivity& a, const LinearSensitivity& b) {
    return a.alone.mean_token_kl > b.alone.mean_token_kl;
  });
  return out;
}

}  // namespace smoothcheck::pipeline
