// numerics.md §1: per-channel calibration statistics of a linear's input X [tokens, channels].
#include <algorithm>
#include <string>

#include "reference/internal.h"
#include "reference/reference.h"
#include "reference/torch_views.h"

namespace smoothcheck::reference {

using internal::require;

BatchChannelStats channel_stats(const Matrix& x) {
  internal::require_nonempty(x, "channel_stats");
  const at::Tensor t = internal::view_of(x);
  const at::Tensor abs = t.abs();
  BatchChannelStats s;
  // Reductions over the token axis; max/min/absmax are exact, and the sums are float64 sums of at most
  // a few thousand f16/bf16/f32 values, exact to well below any statistic's use.
  s.absmax = internal::vector_from(abs.amax(0));
  s.min = internal::vector_from(t.amin(0));
  s.max = internal::vector_from(t.amax(0));
  s.sum = internal::vector_from(t.sum(0));
  s.abssum = internal::vector_from(abs.sum(0));
  return s;
}

void ActivationStatsAccumulator::update(const Matrix& batch) {
  const BatchChannelStats s = channel_stats(batch);
  const auto tokens = static_cast<double>(batch.rows);
  if (batches_ == 0) {
    absmax_ = s.absmax;
    min_ = s.min;
    max_ = s.max;
    mean_.assign(s.sum.size(), 0.0);
    absmean_.assign(s.sum.size(), 0.0);
  }
  require(s.absmax.size() == absmax_.size(),
          "ActivationStatsAccumulator::update: batch has " + std::to_string(batch.cols) + " channels, earlier batches " +
              std::to_string(absmax_.size()));
  // lmdeploy's ActivationObserver: running max/min, and the mean (absmean) as
  // (mean * n + batch_mean) / (n + 1), so every batch weighs the same whatever its token count.
  const auto n = static_cast<double>(batches_);
  for (std::size_t j = 0; j < absmax_.size(); ++j) {
    absmax_[j] = std::max(absmax_[j], s.absmax[j]);
    min_[j] = std::min(min_[j], s.min[j]);
    max_[j] = std::max(max_[j], s.max[j]);
    mean_[j] = (mean_[j] * n + s.sum[j] / tokens) / (n + 1.0);
    absmean_[j] = (absmean_[j] * n + s.abssum[j] / tokens) / (n + 1.0);
  }
  ++batches_;
}

}  // namespace smoothcheck::reference
