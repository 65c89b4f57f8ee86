// Which linear breaks the model (issue 16): for every quantised linear of an export, the model with only
// that linear in W8A8 (the rest float) and the model with every linear but that one in W8A8, each against
// the float model on one token sequence (ΔNLL, per-token KL, argmax agreement: logit_comparison.h).
// "Alone" says what the linear costs by itself; "all but" what leaving it in float would buy back: the
// linears worth an ignore list. Ranked by the alone KL, worst first (KL averages the whole distribution,
// where ΔNLL on one sequence is the noisier figure).
#pragma once

#include <string>
#include <vector>

#include "harness/pipeline/logit_comparison.h"
#include "harness/pipeline/model_family.h"

namespace smoothcheck::pipeline {

struct LinearSensitivity {
  std::string name;
  LogitComparison alone;    // only this linear W8A8
  LogitComparison all_but;  // every linear W8A8 but this one
};

// `exported` is a smoothcheck export of `original` (qc its quantization_config); `sequence` the tokens.
std::vector<LinearSensitivity> linear_sensitivity(const ModelFamily& original, const checkpoint::Checkpoint& exported,
                                                  const QuantizationConfig& qc, kernels::Backend& backend,
                                                  const std::vector<int64_t>& sequence);

}  // namespace smoothcheck::pipeline
