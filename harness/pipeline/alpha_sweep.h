// `smoothcheck sweep` (issue 16): which α, group by group. For every smoothing group of the engine's
// plan and every α of a grid, the group's W8A8 output error on the calibration activations, with the
// engine's own arithmetic: s from its recipe (smooth_model.h), its weight quantiser on the smoothed
// weights, its dynamic per-token activation quantiser and int8 GEMM epilogue (w8a8_linears.h), all on a
// production backend, against the float linear on the float model's input:
//   SQNR = 10·log10(Σ y² / Σ (y − ŷ)²) over the group's fcs and every calibration token,
//   relative MSE = Σ (y − ŷ)² / Σ y², cosine = Σ y·ŷ / (‖y‖·‖ŷ‖);
// and the two halves α trades between: weight-only (float activations x/s against the dequantised
// weights) and activation-only (dequantised x/s against the float smoothed weights).
//
// Each group is measured on its own: its fcs' inputs are the float model's, and an fc whose rows another
// group (an fc -> fc pair) divides is measured undivided. The choice is stated: the α of the grid, within
// [alpha_min, alpha_max], with the highest SQNR (per group; per layer, of the layer's groups together;
// global, of every group together); a tie goes to the α nearer 0.5.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/pipeline/calibrate.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantization_config.h"

namespace smoothcheck::pipeline {

struct SweepOptions {
  Engine engine = Engine::lmdeploy;  // the recipe, groups, quantisers and runtime (engine_profiles.h)
  std::vector<float> alphas;         // the grid
  float alpha_min = 0, alpha_max = 1;
  CalibrationOptions calibration;    // the activations the error is measured on
};

struct SweepPoint {
  float alpha = 0;  // -1: not smoothed (s = 1)
  double sqnr_db = 0, rel_mse = 0, cosine = 0;
  double weight_only_sqnr_db = 0, activation_only_sqnr_db = 0;
  double signal = 0, noise = 0;  // Σ y², Σ (y − ŷ)²: what layer and global choices add up
};

struct GroupSweep {
  SmoothingGroup group;
  std::vector<SweepPoint> points;  // one per α of the grid
  SweepPoint unsmoothed;
  float best_alpha = 0.5f;
  // For the report's activation profile: the group input's calibrated absmax per channel, and the s of
  // the chosen α (the quantiser then sees absmax / s).
  std::vector<float> input_absmax, s_at_best;
};

struct SweepResult {
  QuantizationConfig engine;  // the profile's choices (recipe, weight quantiser, runtime)
  SmoothMode mode = SmoothMode::fused;  // the groups' (migration for a family that cannot be fused exactly)
  std::vector<GroupSweep> groups;
  std::map<std::string, float> best_per_layer;  // "model.layers.3." -> α
  float best_global = 0.5f;
  float alpha_min = 0, alpha_max = 1;
  int64_t tokens = 0;  // calibration tokens measured on
};

// Throws std::invalid_argument for an empty grid, an α outside [0, 1], min > max or a grid with no α
// inside [min, max]; the family's own refusals (a family without calibration_inputs) pass through.
SweepResult sweep_alpha(kernels::Backend& backend, const ModelFamily& family, const CalibrationStats& stats,
                        const SweepOptions& o, const CalibrationProgress& progress = {});

// "a:b:step" (inclusive of b within a hundredth of a step) or a comma list; std::invalid_argument else.
std::vector<float> parse_alpha_grid(const std::string& text);

// sweep.json (schema smoothcheck.sweep/1: every group's points, the choices and the criterion) and
// alphas.json (schema smoothcheck.alphas/1: the chosen α per group, per layer and global).
nlohmann::json to_json(const SweepResult& r);
nlohmann::json alphas_json(const SweepResult& r);

}  // namespace smoothcheck::pipeline
