#include "harness/pipeline/calibrate.h"

#include <set>

#include <ATen/ATen.h>

#include "harness/models/llama.h"
#include "harness/pipeline/linear_input_stats.h"
#include "harness/pipeline/token_file.h"

namespace smoothcheck::pipeline {

std::pair<int64_t, int64_t> run_calibration_forward(const checkpoint::Checkpoint& ckpt,
                                                    const checkpoint::LlamaConfig& config, const CalibrationOptions& o,
                                                    const CalibrationProgress& progress,
                                                    const std::function<void(const std::string&, const at::Tensor&)>&
                                                        on_linear_input) {
  const models::LlamaModel model(ckpt, config, DType::f32);
  std::vector<std::vector<int64_t>> seqs;
  if (o.tokens) {
    seqs = read_token_file(*o.tokens, config.vocab_size, config.max_position_embeddings);
  } else {
    SamplingOptions so;
    so.sequences = o.samples;
    so.length = o.seq_len;
    so.seed = o.seed;
    // Sampling is the long part (one forward pass per position); report it in tenths.
    int64_t last_tenth = -1;
    seqs = sample_sequences(model, so, [&](int64_t done, int64_t total) {
      const int64_t tenth = done * 10 / total;
      if (progress && tenth != last_tenth) {
        last_tenth = tenth;
        progress(static_cast<double>(done) / total, "sampling");
      }
    });
  }
  const auto samples = static_cast<int64_t>(seqs.size());
  const auto seq_len = static_cast<int64_t>(seqs.front().size());

  models::LlamaHooks hooks;
  hooks.on_linear_input = on_linear_input;
  // Sequences in groups, so that peak memory stays that of a few sequences' activations.
  const int64_t group = 8;
  for (int64_t first = 0; first < samples; first += group) {
    const int64_t n = std::min(group, samples - first);
    std::vector<int64_t> flat;
    for (int64_t b = first; b < first + n; ++b) flat.insert(flat.end(), seqs[b].begin(), seqs[b].end());
    model.forward(at::tensor(flat, at::kLong).view({n, seq_len}), hooks);
    if (progress) progress(static_cast<double>(first + n) / samples, "statistics");
  }
  return {samples, seq_len};
}

CalibrationStats calibrate(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& config,
                           kernels::Backend& backend, const CalibrationOptions& o, const CalibrationProgress& progress) {
  std::set<std::string> quantised;
  for (const std::string& name : models::LlamaModel::linear_names(config))
    if (name != "lm_head") quantised.insert(name);
  LinearInputStats stats(backend, quantised);
  const auto [samples, seq_len] = run_calibration_forward(
      ckpt, config, o, progress, [&](const std::string& name, const at::Tensor& x) { stats.record(name, x); });

  CalibrationStats out = stats.result();
  out.metadata = {{"samples", std::to_string(samples)},
                  {"seq_len", std::to_string(seq_len)},
                  {"batches_per_linear", std::to_string(samples)}};
  if (o.tokens) {
    out.metadata["tokens"] = o.tokens->string();
  } else {
    out.metadata["seed"] = std::to_string(o.seed);
    out.metadata["sampling"] = "autoregressive from BOS=1, temperature 1, mt19937_64";
  }
  return out;
}

}  // namespace smoothcheck::pipeline
