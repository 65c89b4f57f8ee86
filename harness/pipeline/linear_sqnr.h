// Where a W8A8 checkpoint loses accuracy, linear by linear (issue 14): each quantised linear's output on
// the float model's own activations against the float linear's, as a signal-to-quantisation-noise ratio
// SQNR = 10·log10(Σ y² / Σ (y − ŷ)²) in dB. Each linear is measured in isolation (its input is the float
// model's, carried into the quantised model's space: ÷ s per input channel in fused mode, where the
// folded norm or the divided fc would have done it; the runtime's own division in migration mode), so
// one bad linear shows as itself rather than as the noise of everything after it.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/models/llama.h"
#include "harness/models/quantized_layout.h"
#include "harness/models/smoothing_plan.h"
#include "harness/pipeline/quantization_config.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

struct LinearSqnr {
  std::string name;
  double sqnr_db = 0;
};

// `quantized` holds <linear>.weight, .scale and .migration_scale (smoothcheck's export, or a third-party
// checkpoint's canonical view with the recovered s); `groups` the smoothing groups of qc's mode, whose
// fc -> fc sources had their rows divided by the group's s (multiplied back onto their outputs here).
// Worst (lowest SQNR) first.
std::vector<LinearSqnr> linear_output_sqnr(const models::LlamaModel& original, const checkpoint::Checkpoint& original_ckpt,
                                           const at::Tensor& tokens, const checkpoint::Checkpoint& quantized,
                                           const std::vector<QuantizedLinear>& linears,
                                           const std::vector<SmoothingGroup>& groups, const QuantizationConfig& qc,
                                           kernels::Backend& backend);

}  // namespace smoothcheck::pipeline
