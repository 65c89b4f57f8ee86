// Token sequences sampled from a model itself: stories260K ships without a tokenizer, so calibration
// and verification text is what the model writes, from BOS, autoregressively. The generator is
// specified here rather than left to <random>'s distributions (whose algorithms the standard does not
// fix), so that a seed names the same sequences on every standard library.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace smoothcheck::models {
class LlamaModel;
}

namespace smoothcheck::pipeline {

struct SamplingOptions {
  int64_t sequences = 1;
  int64_t length = 64;       // tokens per sequence, BOS included
  uint64_t seed = 0;
  double temperature = 1.0;  // 1: the model's own distribution
  int64_t bos = 1;           // llama2.c / LLaMA BOS id
};

// progress(done_steps, total_steps) is called after each sampling step (may be empty).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// [sequences][length] token ids: position 0 is BOS, every later token is drawn from softmax(logits /
// temperature) of the model's f32 forward pass over the prefix, all sequences in one batch. Uniforms
// come from std::mt19937_64(seed), 53 bits each, inverted through the CDF in float64. The prefix's keys
// and values are cached (llama_kv_cache.h): each step runs the model over one token per sequence.
std::vector<std::vector<int64_t>> sample_sequences(const models::LlamaModel& model, const SamplingOptions& o,
                                                   const ProgressFn& progress = {});

}  // namespace smoothcheck::pipeline
