// The sweep's choices judged on the whole model (issue 16): the export made with each way of choosing α
// (per group, per layer, one global, lmdeploy's fixed 0.5, and no smoothing) run in W8A8 against the
// float model on held-out tokens (ΔNLL, per-token KL, argmax agreement), and the sensitivity ranking of
// the global choice's export (linear_sensitivity.h). Per-group α maximises each group's own output SQNR;
// whether that also serves the whole model is what this measures, not what it assumes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/pipeline/alpha_sweep.h"
#include "harness/pipeline/linear_sensitivity.h"
#include "harness/pipeline/logit_comparison.h"

namespace smoothcheck::pipeline {

struct ChoiceFigures {
  std::string choice;  // "per group", "per layer", "global 0.45", "0.5", "unsmoothed"
  LogitComparison figures;
};

struct AlphaChoiceComparison {
  std::vector<int64_t> heldout;  // the tokens, sampled from the float model with their own seed
  std::vector<ChoiceFigures> choices;
  std::vector<LinearSensitivity> sensitivity;  // of the global choice's export, worst first
};

// Exports go to scratch/<choice> (replaced). LLaMA (a model that samples its own held-out text).
AlphaChoiceComparison compare_alpha_choices(kernels::Backend& backend, const ModelFamily& family,
                                            const std::filesystem::path& model, const std::filesystem::path& stats,
                                            const SweepResult& sweep, const std::filesystem::path& scratch,
                                            int64_t heldout_tokens, uint64_t heldout_seed);

nlohmann::json to_json(const AlphaChoiceComparison& c);

}  // namespace smoothcheck::pipeline
