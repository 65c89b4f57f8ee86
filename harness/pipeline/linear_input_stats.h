// The statistics half of calibration, shared by every model: a forward pass's linear-input hook feeds
// each linear's input, one batch at a time, into kernels::RunningChannelStats on a production backend
// (lmdeploy's running rules, numerics.md §1), and the result is the statistics file's content.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <ATen/core/Tensor.h>

#include "harness/pipeline/calibration_stats.h"
#include "kernels/kernel_api.h"
#include "kernels/running_channel_stats.h"

namespace smoothcheck::pipeline {

class LinearInputStats {
 public:
  // Only these linears are recorded (a model's unquantised lm_head, say, is not).
  LinearInputStats(kernels::Backend& backend, std::set<std::string> linears);

  // x is [B, T, C] (or [T, C]); each of the B sequences is folded in as one batch, as each calibration
  // window is one batch in lmdeploy. Inputs of other linears are ignored.
  void record(const std::string& linear, const at::Tensor& x);

  // Every linear's five statistics; throws std::logic_error naming a linear that never saw an input.
  CalibrationStats result() const;

 private:
  kernels::Backend* backend_;
  std::map<std::string, std::unique_ptr<kernels::RunningChannelStats>> running_;
};

}  // namespace smoothcheck::pipeline
