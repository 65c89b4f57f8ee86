// The sweep's choices judged on the whole model (issue 16): the export made with each way of choosing α
// (per group, per layer, one global, lmdeploy's fixed 0.5, and no smoothing) run in W8A8 against the
// float model on held-out sequences (heldout_figures.h), and the sensitivity ranking of the global
// choice's export (linear_sensitivity.h). Per-group α maximises each group's own output SQNR; whether
// that also serves the whole model is what this measures, not what it assumes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/pipeline/alpha_sweep.h"
#include "harness/pipeline/heldout_figures.h"
#include "harness/pipeline/linear_sensitivity.h"

namespace smoothcheck::pipeline {

struct ChoiceFigures {
  std::string choice;  // "per group", "per layer", "global 0.45", "0.5", "unsmoothed"
  HeldOutFigures figures;
};

struct AlphaChoiceComparison {
  ForwardComparison measure = ForwardComparison::logits;
  int64_t heldout_sequences = 0, heldout_tokens = 0;
  std::vector<ChoiceFigures> choices;
  SensitivityRanking sensitivity;  // of the global choice's export
};

// Exports (in the sweep's mode) go to scratch/choice-<i> (replaced); `heldout` picks the held-out input.
AlphaChoiceComparison compare_alpha_choices(kernels::Backend& backend, const ModelFamily& family,
                                            const std::filesystem::path& model, const std::filesystem::path& stats,
                                            const SweepResult& sweep, const std::filesystem::path& scratch,
                                            const HeldOutOptions& heldout);

nlohmann::json to_json(const AlphaChoiceComparison& c);

}  // namespace smoothcheck::pipeline
