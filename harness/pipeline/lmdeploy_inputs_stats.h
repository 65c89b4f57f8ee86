// lmdeploy's calibration statistics file, inputs_stats.pth, read and written (lmdeploy 0.18.0).
//
// What lmdeploy writes (`lmdeploy lite calibrate`, lmdeploy/lite/apis/calibrate.py line 367, through
// lmdeploy/lite/quantization/calibration.py): torch.save of a dict of five dicts, {"max", "min", "mean",
// "absmax", "absmean"} (calibration.py line 183), each {module name: tensor [in_features]} of the input
// every nn.Linear inside a decoder layer saw (lines 67-71, 178-191). CalibrationContextV2 with
// search_scale adds "ratios" {module name: float or None} (lines 388-404). Module names are those of
// named_modules() on the *ForCausalLM (lmdeploy/lite/utils/collect.py lines 33-36), for LLaMA
// "model.layers.L.self_attn.q_proj": the checkpoint's parameter prefix, which is smoothcheck's linear
// name too, so the mapping is the identity. lm_head is not in a decoder layer and has no entry; nor
// does smoothcheck quantise it. smooth_quant reads the file back with torch.load(weights_only=True) and
// takes inp_stats['absmax'] (lmdeploy/lite/apis/smooth_quant.py lines 64-65; 'absmean' and 'ratios'
// with search_scale, lines 84-86).
//
// Dtype: the observer's buffers start float16 (lmdeploy/lite/quantization/activation/observer.py
// lines 68-72) and are updated by torch.maximum / minimum and a running mean with the activations
// (lines 111-121), so torch's type promotion decides: float16 for a float16 model, float32 for a
// float32 or a bfloat16 one (float16 with bfloat16 promotes to float32). Checked by running upstream:
// scripts/upstream_known_answers/lmdeploy_inputs_stats.py.
#pragma once

#include <filesystem>
#include <vector>

#include "harness/models/quantized_layout.h"
#include "harness/pipeline/calibration_stats.h"
#include "kernels/options.h"

namespace smoothcheck::pipeline {

// The statistics read: absmax, min and max (required: the smoothing recipes and the consistency check
// read them), mean and absmean (read and checked when the file has them; lmdeploy's always does).
// Others ("ratios", anything later versions add) are not examined; metadata names what was read
// ("statistics") and what was not ("ignored"), and "format" is "lmdeploy inputs_stats.pth".
//
// Every linear of `linears` must have an entry in each statistic read, a float16, bfloat16 or float32
// tensor of shape [in_features], converted exactly to float32, then the checks of the safetensors
// reader (calibration_stats.h). Throws CheckpointError naming the file, "<statistic>[<module>]" and the
// problem.
CalibrationStats read_lmdeploy_inputs_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears);

// The dtype lmdeploy's statistics have for a model stored in `model_dtype` (see above).
DType lmdeploy_stats_dtype(DType model_dtype);

// Writes the five statistics in lmdeploy's layout and key order, each value rounded to `dtype` (f16 or
// f32; to nearest even, as torch's .to() rounds), atomically. The modules are `linears`, in that order
// (a family's linears() are in forward order, as lmdeploy's named_modules() walk lists them).
// Throws std::invalid_argument for another dtype, or a linear `stats` lacks or holds without all five
// statistics of in_features channels.
void write_lmdeploy_inputs_stats(const std::filesystem::path& file, const CalibrationStats& stats,
                                 const std::vector<QuantizedLinear>& linears, DType dtype);

}  // namespace smoothcheck::pipeline
