// A quantised model's next-token distributions against the float model's on one token sequence: what
// verify's forward check, the sweep's whole-model figures and the sensitivity ranking all report.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace smoothcheck::pipeline {

struct LogitComparison {
  double max_abs_logit_delta = 0;
  double argmax_agreement = 0;        // fraction of positions whose argmax agrees
  double nll_original = 0, nll_quantized = 0;  // mean over positions of −log p(next token), nats
  double mean_token_kl = 0, max_token_kl = 0;  // KL(p_float ‖ p_quantised) per position, nats
  double nll_increase() const { return nll_quantized - nll_original; }
};

// logits [T, V] float32 of the same sequence `seq` (T tokens).
LogitComparison compare_logits(const at::Tensor& original, const at::Tensor& quantized, const std::vector<int64_t>& seq);

// Mean over positions of −log softmax(logits)[t][seq[t + 1]].
double mean_nll(const at::Tensor& logits, const std::vector<int64_t>& seq);

}  // namespace smoothcheck::pipeline
