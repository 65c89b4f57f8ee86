#include "kernels/running_channel_stats.h"

#include <algorithm>
#include <string>

namespace smoothcheck::kernels {

RunningChannelStats::RunningChannelStats(int64_t channels)
    : channels_(channels),
      absmax_(std::size_t(channels), 0.0f),
      min_(std::size_t(channels), 0.0f),
      max_(std::size_t(channels), 0.0f),
      mean_sum_(std::size_t(channels), 0.0),
      absmean_sum_(std::size_t(channels), 0.0) {
  if (channels <= 0) throw KernelError("RunningChannelStats: channels must be positive, got " + std::to_string(channels));
}

void RunningChannelStats::update(Backend& backend, ConstMatrix batch) {
  if (batch.cols != channels_)
    throw KernelError("RunningChannelStats: batch has " + std::to_string(batch.cols) + " channels, expected " +
                      std::to_string(channels_));
  if (batch.rows <= 0) throw KernelError("RunningChannelStats: a calibration batch needs at least one token");
  const std::size_t c = std::size_t(channels_);
  std::vector<float> absmax(c), min(c), max(c), sum(c), abssum(c);
  backend.channel_stats(batch, ChannelStatsOut{absmax.data(), min.data(), max.data(), sum.data(), abssum.data()});
  const bool first = batches_ == 0;
  for (std::size_t j = 0; j < c; ++j) {
    absmax_[j] = first ? absmax[j] : std::max(absmax_[j], absmax[j]);
    min_[j] = first ? min[j] : std::min(min_[j], min[j]);
    max_[j] = first ? max[j] : std::max(max_[j], max[j]);
    mean_sum_[j] += double(sum[j]) / double(batch.rows);
    absmean_sum_[j] += double(abssum[j]) / double(batch.rows);
  }
  ++batches_;
}

std::vector<float> RunningChannelStats::mean() const {
  std::vector<float> out(mean_sum_.size());
  for (std::size_t j = 0; j < out.size(); ++j) out[j] = batches_ ? float(mean_sum_[j] / double(batches_)) : 0.0f;
  return out;
}

std::vector<float> RunningChannelStats::absmean() const {
  std::vector<float> out(absmean_sum_.size());
  for (std::size_t j = 0; j < out.size(); ++j) out[j] = batches_ ? float(absmean_sum_[j] / double(batches_)) : 0.0f;
  return out;
}

}  // namespace smoothcheck::kernels
