// libFuzzer target: the calibration statistics file (harness/pipeline/calibration_stats.h), read
// against a fixed two-linear model, in either format the reader tells apart by content: smoothcheck's
// safetensors, or lmdeploy's inputs_stats.pth (a torch.save zip: LibTorch's unpickler and
// read_torch_tensor_tables). Accepted statistics are complete, finite and consistent (min <= max,
// absmax >= max(|min|, |max|)): what the smoothing recipes divide by and take powers of. mean and
// absmean may be absent (empty) from an lmdeploy file, never of another length.
#include <cmath>

#include "fuzz_support.h"
#include "harness/pipeline/calibration_stats.h"

SMOOTHCHECK_FUZZ_TARGET(calibration_stats) {
  using smoothcheck::fuzz::fuzz_require;
  // Names and sizes match the seeds of make_seed_corpus.cpp.
  static const std::vector<smoothcheck::QuantizedLinear> linears = {
      {"model.layers.0.self_attn.q_proj", 4, 4, false}, {"model.layers.0.mlp.down_proj", 6, 4, false}};
  static smoothcheck::fuzz::MemoryFile input;
  const auto stats = smoothcheck::pipeline::read_calibration_stats(input.rewrite(data, size), linears);
  fuzz_require(stats.linears.size() == linears.size(), "accepted statistics that miss a linear");
  for (const auto& q : linears) {
    const auto& s = stats.linears.at(q.name);
    for (const auto* v : {&s.absmax, &s.min, &s.max})
      fuzz_require(static_cast<std::int64_t>(v->size()) == q.in_features, q.name + ": wrong length");
    for (const auto* v : {&s.mean, &s.absmean}) {
      fuzz_require(v->empty() || static_cast<std::int64_t>(v->size()) == q.in_features, q.name + ": wrong length");
      for (const float x : *v) fuzz_require(std::isfinite(x), q.name + ": accepted a non-finite mean");
    }
    for (std::size_t j = 0; j < s.absmax.size(); ++j) {
      fuzz_require(std::isfinite(s.absmax[j]) && std::isfinite(s.min[j]) && std::isfinite(s.max[j]),
                   q.name + ": accepted a non-finite statistic");
      fuzz_require(s.min[j] <= s.max[j] && s.absmax[j] >= std::fabs(s.min[j]) && s.absmax[j] >= std::fabs(s.max[j]),
                   q.name + ": accepted inconsistent min/max/absmax");
    }
  }
}
