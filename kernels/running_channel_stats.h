// Calibration statistics streamed across batches (numerics.md §1), over any backend's per-batch
// channel_stats kernel, with lmdeploy's running rules: absmax and max by running max, min by running
// min, mean and absmean as the running mean of per-batch means (every batch counts equally).
#pragma once

#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

class RunningChannelStats {
 public:
  explicit RunningChannelStats(int64_t channels);

  // Reduces one batch x [T, C] on the backend and folds it in; a batch of zero tokens is refused.
  void update(Backend& backend, ConstMatrix batch);

  int64_t channels() const { return channels_; }
  int64_t batches() const { return batches_; }
  std::vector<float> absmax() const { return absmax_; }
  std::vector<float> min() const { return min_; }
  std::vector<float> max() const { return max_; }
  std::vector<float> mean() const;
  std::vector<float> absmean() const;

 private:
  int64_t channels_;
  int64_t batches_ = 0;
  std::vector<float> absmax_, min_, max_;
  // Sums of per-batch means in float64, so that many batches add no float32 drift of their own.
  std::vector<double> mean_sum_, absmean_sum_;
};

}  // namespace smoothcheck::kernels
