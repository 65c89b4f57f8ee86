// A quantised variant of a model against the float model on held-out input, over several sequences
// together: what sweep's whole-model figures and the sensitivity ranking report (issue 16). One sequence
// is noisy (a few tokens decide a small NLL difference), so the figures pool every sequence.
//
// A language model (LLaMA, ForwardComparison::logits) is judged on its next-token distributions
// (logit_comparison.h), pooled over every position of every sequence. An encoder (BERT,
// ForwardComparison::sentence_embeddings) on its sentence embedding, one per sequence: the mean of the
// last hidden state over the tokens, L2-normalised, as sentence-transformers pools all-MiniLM-L6-v2
// (models/bert.h), so the two embeddings' dot product is their cosine.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "harness/pipeline/model_family.h"

namespace smoothcheck::pipeline {

struct HeldOutFigures {
  ForwardComparison measure = ForwardComparison::logits;
  int64_t sequences = 0;
  // logits: means over positions (NLL over the positions that predict a next token)
  double nll_original = 0, nll_quantized = 0;
  double mean_token_kl = 0, max_token_kl = 0;  // KL(p_float ‖ p_quantised), nats
  double argmax_agreement = 0, max_abs_logit_delta = 0;
  // sentence embeddings
  double mean_embedding_cosine = 0, min_embedding_cosine = 0;

  double nll_increase() const { return nll_quantized - nll_original; }
  // The figure rankings and choices compare, larger is worse: the per-token KL mean (logits), or
  // 1 − the mean embedding cosine (sentence embeddings).
  double loss() const;
};

// "per-token KL mean (nats)" or "1 - sentence-embedding cosine (mean)": what loss() is.
const char* loss_name(ForwardComparison measure);

// The float model's outputs on the held-out sequences, computed once, and every variant judged
// against them.
class HeldOutJudge {
 public:
  HeldOutJudge(const ModelFamily& family, std::vector<std::vector<int64_t>> sequences);

  // `variant` maps a sequence's tokens [T] to the quantised model's output in the family's forward form
  // (ModelFamily::forward: logits [T, V] or hidden states [T, D]).
  HeldOutFigures judge(const ModelFamily::Forward& variant) const;

  ForwardComparison measure() const { return measure_; }
  const std::vector<std::vector<int64_t>>& sequences() const { return sequences_; }
  int64_t tokens() const;

 private:
  ForwardComparison measure_;
  std::vector<std::vector<int64_t>> sequences_;
  std::vector<at::Tensor> reference_;  // float32, one per sequence
};

// Stable keys: the measure's figures and "loss".
nlohmann::json to_json(const HeldOutFigures& f);

}  // namespace smoothcheck::pipeline
