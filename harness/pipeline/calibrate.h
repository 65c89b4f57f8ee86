// Calibration (numerics.md §1): the input statistics of every quantised linear of a LLaMA model over
// token sequences the model samples itself (token_sampling.h), reduced by a production backend's
// channel_stats kernel through kernels::RunningChannelStats, i.e. with lmdeploy's running rules. Each
// sequence is one batch, as each calibration window is one batch in lmdeploy.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/token_sampling.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::checkpoint {
class Checkpoint;
}

namespace smoothcheck::pipeline {

struct CalibrationOptions {
  // Sampling costs one forward pass over the prefix per position (LlamaModel has no KV cache), so
  // O(samples · seq_len²): 16 x 128 takes seconds on stories260K, 32 x 256 about two minutes on 2 cores.
  int64_t samples = 16;
  int64_t seq_len = 128;
  uint64_t seed = 0;
  // Text to calibrate on, for a family that reads text (BERT: instead of Debian's licence texts); a
  // family that samples its own text refuses it.
  std::vector<std::filesystem::path> corpus;
  // LLaMA: calibrate on these token sequences (token_file.h) instead of sampling; samples and seq_len
  // then come from the file.
  std::optional<std::filesystem::path> tokens;
};

// progress(fraction in [0, 1], phase) for long runs; may be empty.
using CalibrationProgress = std::function<void(double fraction, const char* phase)>;

// The calibration set's forward passes: every linear input of the float32 model on the calibration
// tokens (sampled, or o.tokens), a few sequences per batch, handed to `on_linear_input` as
// [batch, tokens, in_features] (lm_head's too). Returns (samples, seq_len).
std::pair<int64_t, int64_t> run_calibration_forward(const checkpoint::Checkpoint& ckpt,
                                                    const checkpoint::LlamaConfig& config, const CalibrationOptions& o,
                                                    const CalibrationProgress& progress,
                                                    const std::function<void(const std::string&, const at::Tensor&)>&
                                                        on_linear_input);

// The linears' statistics, keyed by linear name (7 per layer; lm_head is not quantised and is left out).
CalibrationStats calibrate(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& config,
                           kernels::Backend& backend, const CalibrationOptions& o,
                           const CalibrationProgress& progress = {});

}  // namespace smoothcheck::pipeline
