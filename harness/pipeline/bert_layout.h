// What the pipeline needs to know of a BERT encoder (transformers' BertModel names, all-MiniLM-L6-v2):
// its 6 quantised linears per layer, the LayerNorms in front of them, the smoothing groups, the stacked
// q/k/v parameter an engine would load, and the export's tensors. The classifier-free encoder has no
// lm_head; the pooler is not quantised (sentence embeddings do not use it) and is carried unchanged.
//
// Only migration mode is exact for a post-LN model: a LayerNorm's output is both the next linears'
// input and the residual, and GELU is not linear, so folding s into a norm or into intermediate.dense's
// rows changes the model (harness/models/smoothing_plan.h shows why, group by group).
#pragma once

#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint.h"
#include "harness/models/bert.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/models/quantized_layout.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// "[bert.]encoder.layer.<l>." for layer l.
std::string bert_layer_prefix(const std::string& model_prefix, int64_t layer);

// query, key, value, attention.output.dense, intermediate.dense, output.dense of every layer, with biases.
std::vector<QuantizedLinear> bert_quantized_linears(const models::BertConfig& c, const std::string& prefix);

// embeddings.LayerNorm and each layer's attention.output.LayerNorm and output.LayerNorm.
std::vector<NormSpec> bert_norms(const models::BertConfig& c, const std::string& prefix);

// The smoothing groups with full names, layer by layer: the LayerNorm before q/k/v (the embeddings' for
// layer 0, the previous layer's output LayerNorm after) -> {query, key, value}; value ->
// attention.output.dense; attention.output.LayerNorm -> intermediate.dense; intermediate.dense ->
// output.dense. The block plan is validated first: fused mode throws std::invalid_argument carrying
// the validator's reasons and the advice to use migration mode.
std::vector<SmoothingGroup> bert_smoothing_groups(const models::BertConfig& c, const std::string& prefix,
                                                  SmoothMode mode);

// "[bert.]encoder.layer.<l>.attention.self.qkv": query, key, value.
std::vector<StackedGroup> bert_stacked_groups(const models::BertConfig& c, const std::string& prefix);

// The export's tensors in the original's order: each quantised linear's weight becomes int8 [O, C],
// scale float32 [O, 1] and (with migration scales) migration_scale float32 [C]; every other computable
// tensor keeps its stored dtype and shape. The original's opaque tensors (I64 position_ids) are carried
// too but are not ExportTensors (checkpoint::total_bytes counts them).
std::vector<ExportTensor> bert_export_tensors(const checkpoint::Checkpoint& original,
                                              const std::vector<QuantizedLinear>& linears, bool with_migration_scales);

// "bert." for task-head exports, "" for a bare encoder (as models::BertModel detects it).
std::string bert_prefix(const checkpoint::Checkpoint& ckpt);

}  // namespace smoothcheck::pipeline
