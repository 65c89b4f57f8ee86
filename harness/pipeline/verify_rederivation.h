// verify's re-derivation checks (issue 12) for a set of linears (a LLaMA layer, a whole BERT model):
//  migration_scale  each stored s against the one rederive_migration_scales computes from the original
//                   weights, the calibration statistics and the recorded recipe and α; without
//                   statistics (and a smoothed export) it cannot run and is recorded as not run;
//  weight_scale     each stored row scale against the recorded weight variant's formula applied to the
//                   original weight times the stored s (÷ the fused fc->fc row divisor);
//  codes            each stored int8 code against that variant's code of the same value.
// So the chain from the calibration statistics to every stored number is closed when statistics are
// given: s from the recipe, the scales and codes from s. Without them the scales and codes are still
// held to the variant's formula, given the stored s, and the report says s was taken as stored.
// Failures are appended to r.failures as "<check>: <linear> …"; the figures go to r.linears' entries of
// the same name (which must exist: check_linear adds them first).
#pragma once

#include <vector>

#include "harness/checkpoint/checkpoint.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/verify.h"
#include "harness/smoothing_plan.h"

namespace smoothcheck::pipeline {

// groups: full tensor names, plan order, covering the linears of `original` (a linear of no group has
// s = 1). stats may be nullptr.
void check_rederivation(const checkpoint::Checkpoint& quantized, const FloatWeights& original,
                        const std::vector<SmoothingGroup>& groups, const CalibrationStats* stats,
                        const QuantizationConfig& qc, VerifyReport& r);

}  // namespace smoothcheck::pipeline
