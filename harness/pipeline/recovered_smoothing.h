// The smoothing a third-party checkpoint folded into its weights, recovered from the checkpoint and the
// original model alone (issue 14). compressed-tensors and lmdeploy keep no migration vector: a norm ->
// fcs group left norm / s in the norm and W·s in every fc's columns; an fc -> fc pair (lmdeploy's
// v -> o, up -> down) left the source's rows divided by s and the next fcs' columns multiplied.
//
//   norm groups   s_j = original norm_j / stored norm_j, exact to the stored dtype's rounding (2u);
//                 a channel whose original norm is 0 carries no trace there and is read from the fcs.
//   fc -> fc      s_j from the next fcs' column j: every row r bounds it to
//                 [(q·scale − h) / W, (q·scale + h) / W] with h half a quantisation step (numerics.md §8);
//                 the intersection over rows is where s_j lies, known to the quantiser's resolution.
//                 A group whose every interval holds 1 was not smoothed.
//
// Then every fc of every group is held to the s recovered for it: each stored element must lie within
// half a step (plus the recovered s's own uncertainty) of W·s_j / d_r. An fc multiplied by another s
// than its group's, or a norm changed without its fcs, fails here, naming the group, fc and channel.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/pipeline/float_weights.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// One linear as stored: int8 codes [O, C] row-major and a float32 scale per row.
struct StoredQuantizedLinear {
  std::vector<std::int8_t> codes;
  std::vector<float> scale;
  int64_t rows = 0, cols = 0;
};

struct RecoveredGroup {
  SmoothingGroup group;
  bool smoothed = false;
  std::string evidence;                  // how s was read: "norm ratio", "columns of o_proj", ...
  std::vector<double> s;                 // [in]
  std::vector<double> uncertainty;       // relative half-width of each s_j
  std::vector<bool> exact;               // s_j known to the stored dtype's rounding (from the norm)
  double worst_consistency = 0;          // max over the fcs' elements of |error| / allowance (> 1 fails)
};

struct UnitRecovery {
  std::vector<RecoveredGroup> groups;
  // Per linear: its columns' s (1 outside every group) and, for an fc -> fc source, the s dividing its
  // rows; `exact_linears` are those whose column s and row divisor are both exact, so that their
  // scales and codes can be re-derived from the original without the quantiser's uncertainty.
  std::map<std::string, std::vector<float>> column_s;
  std::map<std::string, std::vector<float>> row_divisor;
  std::set<std::string> exact_linears;
};

// `candidates`: the groups the family could smooth (fused mode, fc -> fc pairs included); `stored_norms`
// the checkpoint's norm weights by norm name; `quantized` the checkpoint's linears; `dtype` the stored
// float dtype; `quotient_dtype` the dtype the format's weight quantiser divides in
// (numerics::weight_arithmetic). Where several values of the dtype are consistent with a norm (an ulp
// apart), the one that reproduces the most codes of the group's fcs is taken. Inconsistencies are
// appended to `failures` as "smoothing: ...".
UnitRecovery recover_unit_smoothing(const FloatWeights& original,
                                    const std::map<std::string, StoredQuantizedLinear>& quantized,
                                    const std::map<std::string, std::vector<float>>& stored_norms,
                                    const std::vector<SmoothingGroup>& candidates, DType dtype, DType quotient_dtype,
                                    std::vector<std::string>& failures);

// Fills column_s, row_divisor and exact_linears from `groups` (recover_unit_smoothing ends with it; call
// again after pin_to_recipe).
void settle_linears(UnitRecovery& rec, const FloatWeights& original);

// An fc -> fc group's s, known from int8 columns only to the quantiser's resolution, replaced by the s a
// recipe computes from the calibration statistics, when that lies inside every column's interval: the
// chain from the statistics to the codes is then closed for its linears too. `recipe` names it for
// the evidence. False, and nothing changed, when some channel lies outside.
bool pin_to_recipe(RecoveredGroup& g, const std::vector<double>& recipe_s, const std::string& recipe);

}  // namespace smoothcheck::pipeline
