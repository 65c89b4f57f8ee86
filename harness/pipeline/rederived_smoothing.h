// verify's own derivation of the migration scales (issue 12): from the original weights, the
// calibration statistics and the recipe and α that the export's quantization_config records, the
// float64 reference (reference::weight_stat, reference::smooth_scale) recomputes the s each linear's
// input channels were multiplied by. Nothing of the export and nothing of the kernels that wrote it
// enters the computation, so a wrong recipe, a statistic over one fc of a stacked group, an s of
// another layer or an inverted one disagree with it.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// How far a stored s may lie from the float64 one, relative, in units of f32's unit roundoff u. The
// kernels compute s in f32 from the same f32 statistics: the weight statistic ≤ 2u (lmdeploy: f32
// quotients summed in double, one rounding; the column absmax recipes: exact), a^α and w^(1−α) through
// powf ≤ 1u each plus the exponent (< 1) times w's 2u, the quotient 1u: ≤ 5u; lmdeploy's normalisation
// s / sqrt(max·min) adds the product, the root and the quotient and carries max's and min's 5u through
// the root: ≤ 13u. 16u leaves room for nothing else: another recipe, another α in the second decimal or
// another layer's s lands orders of magnitude outside.
inline constexpr double kMigrationScaleTolerance = 16 * 0x1.0p-24;

// Whether a stored s agrees with the recipe's: within kMigrationScaleTolerance of the float64 one in
// float32; in a bf16/f16 model's dtype (SmoothingArithmetic::model_dtype), a value of that dtype within
// one of its ulps of the reference's step-by-step one (reference::smooth_scale_stepwise), or equal to it.
bool migration_scale_allowed(float stored, double recipe, DType arithmetic);

// The activation statistic a recipe smooths by (numerics.md §1, §3): absmax for the SmoothQuant
// authors and lmdeploy, the range max − min for llm-compressor; in a bf16/f16 arithmetic dtype rounded
// as the engines hold it there (absmax cast to it; min and max cast, subtracted, rounded).
std::vector<double> recipe_activation_statistic(const LinearStats& stats, Recipe recipe, DType arithmetic = DType::f32);

// s for every linear of `original` ([in_features], float64). `groups` hold full tensor names (a norm
// source in original.norms, a linear source in original.linears); every group's statistics are taken
// from the original weights: in the plan's order (norm->fcs before the fc->fc pair that divides one of
// those fcs' rows) no group's fcs have been touched before their own s is computed, so this is what the
// recipe computes. The activation statistic is the group's first fc's (q/k/v and gate/up hold equal
// copies). A linear of no group, or every linear of an export made without smoothing, gets ones.
// Throws std::invalid_argument naming the linear for statistics the recipe cannot take (the reference's
// own argument checks).
std::map<std::string, std::vector<double>> rederive_migration_scales(const std::vector<SmoothingGroup>& groups,
                                                                    const FloatWeights& original,
                                                                    const CalibrationStats& stats,
                                                                    const QuantizationConfig& qc, DType arithmetic);

// For a group whose stored s disagrees with the recorded recipe and α: the recipe and α on a 0.05 grid
// whose s the stored one matches within kMigrationScaleTolerance, as "recipe smoothquant, alpha 0.85",
// or "" when none does. Costs one weight statistic per recipe and one s per grid point.
std::string explain_migration_scale(const SmoothingGroup& group, const FloatWeights& original,
                                    const CalibrationStats& stats, const std::vector<float>& stored, DType arithmetic);

// The recipe and α whose s best explains an s recovered from a checkpoint another tool wrote (issue 14):
// for each recipe the α in [0, 1] minimising the residual, max over the channels `use` marks of
// |s_recipe(α) − s_j| / s_j (a 0.05 grid, then golden-section search to 1e-4 around the best point),
// and the recipe with the smallest residual. A residual at float rounding says the tool ran that recipe
// on these statistics; a residual of a few percent, that it ran it on other calibration data.
struct RecipeFit {
  Recipe recipe = Recipe::lmdeploy;
  double alpha = 0;
  double residual = INFINITY;
};
RecipeFit fit_recipe_and_alpha(const SmoothingGroup& group, const FloatWeights& original, const CalibrationStats& stats,
                               const std::vector<double>& s, const std::vector<bool>& use, DType arithmetic);

}  // namespace smoothcheck::pipeline
