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
// Failures are appended to r.failures as "<check>: <linear> …"; the figures go to r.linears.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/verify.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// The stored migration scale of every linear of `original`, by name.
std::map<std::string, std::vector<float>> stored_migration_scales(const checkpoint::Checkpoint& quantized,
                                                                  const FloatWeights& original);

// Fused mode: each linear whose rows were divided (an fc->fc group's source) -> the linear whose s
// divided them (the group's first fc). Empty in migration mode.
std::map<std::string, std::string> fused_row_divisors(const std::vector<SmoothingGroup>& groups, SmoothMode mode);

// Every linear's weight checks from its tensors, each read once: numerics.md §8's bound ("weights",
// LinearErrorCheck, failing above max_error_over_bound) and the re-derived weight_scale and codes, with the
// stored s and the fused row divisors. `arithmetic` is the dtype smoothing rounded to (smoothing_dtype):
// in bf16/f16 the bound also carries those roundings and the re-derivation models them exactly.
// Appends each linear's LinearCheck and failures to r. s_error_u: rederive_weights'. deferred: the linears
// of `original` not yet filled (load_float_weights), each filled a block of rows at a time right before
// the re-derivation reads it, and its stored pages dropped once checked; every row is filled on return.
void check_quantized_linears(const checkpoint::Checkpoint& quantized, const FloatWeights& original,
                             const std::map<std::string, std::vector<float>>& stored_s,
                             const std::map<std::string, std::string>& row_divisors, WeightQuant variant,
                             DType arithmetic, double max_error_over_bound, VerifyReport& r, double s_error_u = 0,
                             const DeferredLinears* deferred = nullptr);

// migration_scale for the linears of `original` (whose LinearCheck entries check_quantized_linears has
// added): groups hold full tensor names in plan order (a linear of no group has s = 1); stats may be
// nullptr, and then the check is recorded as not run unless the export says it was not smoothed.
void check_migration_scales(const FloatWeights& original, const std::vector<SmoothingGroup>& groups,
                            const std::map<std::string, std::vector<float>>& stored_s, const CalibrationStats* stats,
                            const QuantizationConfig& qc, DType arithmetic, VerifyReport& r);

}  // namespace smoothcheck::pipeline
