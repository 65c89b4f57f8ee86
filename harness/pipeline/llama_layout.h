// What the pipeline needs to know of a LLaMA model (transformers' LlamaForCausalLM names) beyond its
// export layout (harness/models/quantized_layout.h): the norms in front of its linears, the dtype its bytes
// are in, its smoothing groups (lmdeploy's mapping, harness/models/smoothing_plan.h) with full names, and the
// stacked q/k/v and gate/up parameters an engine loads. llama_family.cpp answers the pipeline with these;
// the LLaMA-config overloads serve the tests that hold a config rather than a family.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// "model.layers.<l>." for layer l.
std::string layer_prefix(int64_t layer);

// Each layer's input_layernorm and post_attention_layernorm.
std::vector<NormSpec> llama_norms(const checkpoint::LlamaConfig& config);

// The dtype a LLaMA checkpoint stores its weights in: its embedding's (read from the header, not the
// data), as config.json's torch_dtype may not match the bytes.
DType llama_stored_dtype(const checkpoint::Checkpoint& ckpt);

BlockDims block_dims(const checkpoint::LlamaConfig& c);

// The plan for `mode` (without the fc->fc groups unless fc_to_fc_pairs: the engine decides), checked
// with validate_smoothing_plan; throws std::invalid_argument with the validator's reasons when it is
// not exact.
SmoothingPlan checked_llama_plan(const checkpoint::LlamaConfig& c, SmoothMode mode, bool fc_to_fc_pairs);

// The checked plan's groups for every layer, with full tensor names ("model.layers.<l>." prefixed).
std::vector<SmoothingGroup> llama_model_groups(const checkpoint::LlamaConfig& config, const SmoothingPlan& plan);

// qkv_proj and gate_up_proj of every layer, beside their members ("model.layers.<l>.self_attn.qkv_proj").
std::vector<StackedGroup> llama_stacked_groups(const checkpoint::LlamaConfig& config);

// load_stacked_migration_scales over llama_stacked_groups.
std::map<std::string, std::vector<float>> load_stacked_migration_scales(const checkpoint::Checkpoint& quantized,
                                                                        const checkpoint::LlamaConfig& config);

// read_calibration_stats against the model's 7 linears per layer.
CalibrationStats read_calibration_stats(const std::filesystem::path& file, const checkpoint::LlamaConfig& config);

}  // namespace smoothcheck::pipeline
