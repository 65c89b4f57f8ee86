#include "harness/pipeline/token_sampling.h"

#include <random>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>

#include "harness/models/llama.h"

namespace smoothcheck::pipeline {

std::vector<std::vector<int64_t>> sample_sequences(const models::LlamaModel& model, const SamplingOptions& o,
                                                   const ProgressFn& progress) {
  const auto& cfg = model.config();
  if (o.sequences <= 0 || o.length <= 0)
    throw std::invalid_argument("sample_sequences: sequences and length must be positive");
  if (o.length > cfg.max_position_embeddings)
    throw std::invalid_argument("sample_sequences: length " + std::to_string(o.length) +
                                " exceeds the model's max_position_embeddings " +
                                std::to_string(cfg.max_position_embeddings));
  if (!(o.temperature > 0)) throw std::invalid_argument("sample_sequences: temperature must be positive");
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<int64_t>> seqs(static_cast<std::size_t>(o.sequences), std::vector<int64_t>{o.bos});
  const int64_t steps = o.length - 1;
  // Each step feeds only the tokens drawn last; the cache holds the keys and values of the prefix.
  models::LlamaKvCache cache;
  for (int64_t step = 0; step < steps; ++step) {
    std::vector<int64_t> newest;
    for (const auto& s : seqs) newest.push_back(s.back());
    const at::Tensor tokens = at::tensor(newest, at::kLong).view({o.sequences, 1});
    // The new position's logits, in float64 so that the CDF does not lose small probabilities.
    const at::Tensor last = model.forward(tokens, {}, &cache).select(1, 0).to(at::kDouble);
    const at::Tensor probs = at::softmax(last / o.temperature, -1).contiguous();
    const double* p = probs.data_ptr<double>();
    const int64_t V = probs.size(1);
    for (int64_t b = 0; b < o.sequences; ++b) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
      double cdf = 0;
      int64_t pick = V - 1;  // rounding may leave the total just below 1: the last token takes the rest
      for (int64_t v = 0; v < V; ++v) {
        cdf += p[b * V + v];
        if (u < cdf) {
          pick = v;
          break;
        }
      }
      seqs[static_cast<std::size_t>(b)].push_back(pick);
    }
    if (progress) progress(step + 1, steps);
  }
  return seqs;
}

}  // namespace smoothcheck::pipeline
