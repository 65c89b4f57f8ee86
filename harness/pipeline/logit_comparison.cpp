#include "harness/pipeline/logit_comparison.h"

#include <ATen/ATen.h>

namespace smoothcheck::pipeline {

double mean_nll(const at::Tensor& logits, const std::vector<int64_t>& seq) {
  const at::Tensor lp = at::log_softmax(logits.to(at::kDouble), -1);
  double sum = 0;
  for (std::size_t t = 0; t + 1 < seq.size(); ++t) sum -= lp[t][seq[t + 1]].item<double>();
  return sum / static_cast<double>(seq.size() - 1);
}

LogitComparison compare_logits(const at::Tensor& original, const at::Tensor& quantized, const std::vector<int64_t>& seq) {
  LogitComparison c;
  const at::Tensor lo = original.to(at::kFloat), lq = quantized.to(at::kFloat);
  c.max_abs_logit_delta = (lq - lo).abs().max().item<double>();
  c.argmax_agreement = lo.argmax(-1).eq(lq.argmax(-1)).to(at::kDouble).mean().item<double>();
  c.nll_original = mean_nll(lo, seq);
  c.nll_quantized = mean_nll(lq, seq);
  const at::Tensor log_p = at::log_softmax(lo.to(at::kDouble), -1), log_q = at::log_softmax(lq.to(at::kDouble), -1);
  const at::Tensor kl = (log_p.exp() * (log_p - log_q)).sum(-1);
  c.mean_token_kl = kl.mean().item<double>();
  c.max_token_kl = kl.max().item<double>();
  return c;
}

}  // namespace smoothcheck::pipeline
