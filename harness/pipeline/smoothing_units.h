// A model split into the units one pass of smoothing and quantisation (or of verify's weight checks)
// holds at a time: the linears of one layer, the smoothing groups whose fcs lie in it and the norms
// those groups read. Memory then holds one layer's float32 weights and their int8 codes, not the model's.
#pragma once

#include <string>
#include <vector>

#include "harness/pipeline/float_weights.h"
#include "harness/models/quantized_layout.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

struct SmoothingUnit {
  std::vector<QuantizedLinear> linears;
  std::vector<NormSpec> norms;  // the groups' norm sources
  std::vector<SmoothingGroup> groups;
};

// "model.layers.3." of "model.layers.3.mlp.up_proj", "bert.encoder.layer.0." of a BERT name: the name
// up to its first all-digit component; "" for a name outside the layers.
std::string layer_of(const std::string& name);

// Splits the model by layer. A group belongs to its fcs' layer; its norm source comes along even from
// the layer before (BERT's q/k/v read the previous layer's output LayerNorm), as smoothing only reads
// it. Throws std::logic_error when a group's fcs (or its linear source) span layers, or its norm
// source is not among `norms`.
std::vector<SmoothingUnit> smoothing_units(const std::vector<QuantizedLinear>& linears,
                                           const std::vector<NormSpec>& norms,
                                           const std::vector<SmoothingGroup>& groups);

}  // namespace smoothcheck::pipeline
