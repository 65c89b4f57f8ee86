#include "harness/pipeline/heldout_figures.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "harness/pipeline/logit_comparison.h"

namespace smoothcheck::pipeline {

namespace {

// sentence-transformers' pooling of one unpadded sequence: mean over tokens, then L2 normalisation.
at::Tensor sentence_embedding_of(const at::Tensor& hidden) {
  const at::Tensor mean = hidden.to(at::kDouble).mean(0);
  return mean / mean.norm();
}

}  // namespace

double HeldOutFigures::loss() const {
  return measure == ForwardComparison::logits ? mean_token_kl : 1.0 - mean_embedding_cosine;
}

const char* loss_name(ForwardComparison measure) {
  return measure == ForwardComparison::logits ? "per-token KL mean (nats)" : "1 - sentence-embedding cosine (mean)";
}

HeldOutJudge::HeldOutJudge(const ModelFamily& family, std::vector<std::vector<int64_t>> sequences)
    : measure_(family.forward_comparison()), sequences_(std::move(sequences)) {
  if (sequences_.empty()) throw std::invalid_argument("held-out comparison: no held-out sequence");
  c10::InferenceMode guard;
  for (const std::vector<int64_t>& s : sequences_) {
    if (s.size() < 2) throw std::invalid_argument("held-out comparison: a sequence needs at least 2 tokens");
    reference_.push_back(family.forward(at::tensor(s, at::kLong)).to(at::kFloat));
  }
}

int64_t HeldOutJudge::tokens() const {
  int64_t n = 0;
  for (const auto& s : sequences_) n += static_cast<int64_t>(s.size());
  return n;
}

HeldOutFigures HeldOutJudge::judge(const ModelFamily::Forward& variant) const {
  c10::InferenceMode guard;
  HeldOutFigures f;
  f.measure = measure_;
  f.sequences = static_cast<int64_t>(sequences_.size());
  double positions = 0, predicting = 0;
  f.min_embedding_cosine = 1;
  for (std::size_t i = 0; i < sequences_.size(); ++i) {
    const std::vector<int64_t>& seq = sequences_[i];
    const at::Tensor out = variant(at::tensor(seq, at::kLong)).to(at::kFloat);
    if (measure_ == ForwardComparison::sentence_embeddings) {
      const double cosine = (sentence_embedding_of(reference_[i]) * sentence_embedding_of(out)).sum().item<double>();
      f.mean_embedding_cosine += cosine / static_cast<double>(sequences_.size());
      f.min_embedding_cosine = std::min(f.min_embedding_cosine, std::isfinite(cosine) ? cosine : -1.0);
      continue;
    }
    // Pooled over positions: each sequence weighs by its positions (its predicting positions for NLL).
    const LogitComparison c = compare_logits(reference_[i], out, seq);
    const double t = static_cast<double>(seq.size()), p = t - 1;
    f.nll_original += c.nll_original * p;
    f.nll_quantized += c.nll_quantized * p;
    f.mean_token_kl += c.mean_token_kl * t;
    f.argmax_agreement += c.argmax_agreement * t;
    f.max_token_kl = std::max(f.max_token_kl, c.max_token_kl);
    f.max_abs_logit_delta = std::max(f.max_abs_logit_delta, c.max_abs_logit_delta);
    positions += t;
    predicting += p;
  }
  if (measure_ == ForwardComparison::logits) {
    f.nll_original /= predicting;
    f.nll_quantized /= predicting;
    f.mean_token_kl /= positions;
    f.argmax_agreement /= positions;
  }
  return f;
}

nlohmann::json to_json(const HeldOutFigures& f) {
  if (f.measure == ForwardComparison::sentence_embeddings)
    return {{"mean_embedding_cosine", f.mean_embedding_cosine},
            {"min_embedding_cosine", f.min_embedding_cosine},
            {"loss", f.loss()}};
  return {{"nll_increase", f.nll_increase()},     {"mean_token_kl", f.mean_token_kl},
          {"max_token_kl", f.max_token_kl},       {"argmax_agreement", f.argmax_agreement},
          {"max_abs_logit_delta", f.max_abs_logit_delta}, {"loss", f.loss()}};
}

}  // namespace smoothcheck::pipeline
