// Which tool's format a quantised checkpoint is in, told from its config.json's quantization_config and
// its tensor names, so that `verify` can audit checkpoints smoothcheck did not write (issue 14):
//   smoothcheck          quant_method "smooth_quant" with smoothcheck's own fields (recipe, mode, ...);
//                        <linear>.weight int8, .scale float32 [out, 1], .migration_scale [in]
//   compressed-tensors   quant_method "compressed-tensors" (llm-compressor writes it, vLLM loads it);
//                        <linear>.weight int8, .weight_scale in the model's dtype, .input_scale when static
//   lmdeploy             quant_method "smooth_quant" with quant_dtype and none of smoothcheck's fields
//                        (lmdeploy/lite/apis/smooth_quant.py); <linear>.weight int8, .scale float32 [out, 1]
// TensorRT-LLM's SmoothQuant checkpoints (config.json "quantization" with a W8A8_SQ quant_algo, per-rank
// rank<N>.safetensors) are recognised and refused as not yet supported.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace smoothcheck::pipeline {

enum class QuantizedFormat { smoothcheck, compressed_tensors, lmdeploy };
const char* to_string(QuantizedFormat f);  // "smoothcheck", "compressed-tensors", "lmdeploy"
// std::invalid_argument naming the formats for an unknown name.
QuantizedFormat parse_quantized_format(const std::string& name);

struct DetectedFormat {
  QuantizedFormat format = QuantizedFormat::smoothcheck;
  std::string evidence;  // what decided it, for the report: "quantization_config.quant_method ..."
};

// The format of the checkpoint in `dir` (opened with open_model_dir after the TensorRT-LLM test, which
// needs only the directory); `requested` (verify --format) must agree with what the files say. Throws
// CheckpointError naming config.json (or the directory) with the reason when there is no config.json or
// quantization_config, the method is not one of the above, the config says one format and the tensors
// another (a mixed checkpoint), or it is a TensorRT-LLM checkpoint.
DetectedFormat detect_quantized_format(const std::filesystem::path& dir, std::optional<QuantizedFormat> requested);

}  // namespace smoothcheck::pipeline
