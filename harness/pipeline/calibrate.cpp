#include "harness/pipeline/calibrate.h"

#include <map>
#include <memory>

#include <ATen/ATen.h>

#include "harness/models/llama.h"
#include "kernels/running_channel_stats.h"

namespace smoothcheck::pipeline {

CalibrationStats calibrate(const checkpoint::Checkpoint& ckpt, const checkpoint::LlamaConfig& config,
                           kernels::Backend& backend, const CalibrationOptions& o, const CalibrationProgress& progress) {
  const models::LlamaModel model(ckpt, config, DType::f32);
  SamplingOptions so;
  so.sequences = o.samples;
  so.length = o.seq_len;
  so.seed = o.seed;
  // Sampling is the long part (one forward pass per position); report it in tenths.
  int64_t last_tenth = -1;
  const auto seqs = sample_sequences(model, so, [&](int64_t done, int64_t total) {
    const int64_t tenth = done * 10 / total;
    if (progress && tenth != last_tenth) {
      last_tenth = tenth;
      progress(static_cast<double>(done) / total, "sampling");
    }
  });

  std::map<std::string, std::unique_ptr<kernels::RunningChannelStats>> running;
  for (const std::string& name : models::LlamaModel::linear_names(config))
    if (name != "lm_head") running[name] = nullptr;
  models::LlamaHooks hooks;
  hooks.on_linear_input = [&](const std::string& name, const at::Tensor& x) {
    auto it = running.find(name);
    if (it == running.end()) return;  // lm_head
    const at::Tensor xs = x.to(at::kFloat).contiguous();
    const int64_t C = xs.size(-1);
    if (!it->second) it->second = std::make_unique<kernels::RunningChannelStats>(C);
    // One batch per sequence: x is [B, T, C]; each [T, C] slice is folded in separately.
    for (int64_t b = 0; b < xs.size(0); ++b) {
      const at::Tensor slice = xs.select(0, b);
      it->second->update(backend, kernels::ConstMatrix{slice.data_ptr<float>(), DType::f32, slice.size(0), C, C});
    }
  };
  // Sequences in groups, so that peak memory stays that of a few sequences' activations.
  const int64_t group = 8;
  for (int64_t first = 0; first < o.samples; first += group) {
    const int64_t n = std::min(group, o.samples - first);
    std::vector<int64_t> flat;
    for (int64_t b = first; b < first + n; ++b) flat.insert(flat.end(), seqs[b].begin(), seqs[b].end());
    model.forward(at::tensor(flat, at::kLong).view({n, o.seq_len}), hooks);
    if (progress) progress(static_cast<double>(first + n) / o.samples, "statistics");
  }

  CalibrationStats out;
  for (auto& [name, r] : running) {
    LinearStats s;
    s.absmax = r->absmax();
    s.min = r->min();
    s.max = r->max();
    s.mean = r->mean();
    s.absmean = r->absmean();
    out.linears[name] = std::move(s);
  }
  out.metadata = {{"samples", std::to_string(o.samples)},
                  {"seq_len", std::to_string(o.seq_len)},
                  {"seed", std::to_string(o.seed)},
                  {"sampling", "autoregressive from BOS=1, temperature 1, mt19937_64"},
                  {"batches_per_linear", std::to_string(o.samples)}};
  return out;
}

}  // namespace smoothcheck::pipeline
