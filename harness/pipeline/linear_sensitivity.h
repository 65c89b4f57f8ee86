// Which linear, and which layer, breaks the model (issue 16): for every quantised linear of an export,
// and for every layer's linears together, the model with only those in W8A8 (the rest float) and the
// model with every linear but those in W8A8, each against the float model on held-out sequences
// (heldout_figures.h: ΔNLL, per-token KL, argmax agreement for a language model; sentence-embedding
// cosine for an encoder). "Alone" says what they cost by themselves; "all but" what leaving them in
// float would buy back: the names worth an ignore list. Ranked by the alone loss, worst first (for a
// language model the KL, which averages the whole distribution, where ΔNLL is the noisier figure).
#pragma once

#include <string>
#include <vector>

#include "harness/pipeline/heldout_figures.h"
#include "harness/pipeline/model_family.h"

namespace smoothcheck::pipeline {

struct Sensitivity {
  std::string name;                  // the linear, or the layer's prefix ("model.layers.3.")
  std::vector<std::string> linears;  // what is quantised alone / left in float
  HeldOutFigures alone;              // only these W8A8
  HeldOutFigures all_but;            // every linear W8A8 but these
};

struct SensitivityRanking {
  std::vector<Sensitivity> linears;  // worst first
  std::vector<Sensitivity> layers;   // worst first
  HeldOutFigures all;                // every linear W8A8: the export's own W8A8 forward
};

// `exported` is a smoothcheck export of `original` (qc its quantization_config); `judge` holds the
// held-out sequences and the float model's outputs on them.
SensitivityRanking linear_sensitivity(const ModelFamily& original, const checkpoint::Checkpoint& exported,
                                      const QuantizationConfig& qc, kernels::Backend& backend, const HeldOutJudge& judge);

nlohmann::json to_json(const SensitivityRanking& r);

}  // namespace smoothcheck::pipeline
