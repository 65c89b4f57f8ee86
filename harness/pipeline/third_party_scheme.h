// What a third-party W8A8 checkpoint's quantization_config says about each linear module (issue 14):
// whether it is quantised, how its weight scale is grouped and how its runtime quantises its input.
// The audit (third_party_audit.h) holds the tensors to it; nothing here reads a tensor.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/pipeline/quantized_format.h"
#include "kernels/engine_profiles.h"

namespace smoothcheck::pipeline {

enum class WeightGranularity { channel, tensor };  // weight_scale [out, 1] or [1]
enum class InputQuant { dynamic_per_token, static_per_tensor };  // static: a stored input_scale [1]
const char* to_string(WeightGranularity g);
const char* to_string(InputQuant a);

struct LinearScheme {
  WeightGranularity weight = WeightGranularity::channel;
  InputQuant input = InputQuant::dynamic_per_token;
  std::string rule;  // the config entry that decided it: "config_groups.group_0", "every decoder linear"
};

struct ThirdPartyScheme {
  QuantizedFormat format = QuantizedFormat::compressed_tensors;
  // The profile whose numerics the format's tool and runtime follow (engine_profiles.h): compressed-
  // tensors checkpoints are llm-compressor's and run on vLLM; lmdeploy's run on lmdeploy.
  Engine engine = Engine::llmcompressor;
  std::map<std::string, LinearScheme> quantized;  // module name -> scheme
  std::map<std::string, std::string> untouched;   // module name -> why it stays in float ("ignore: lm_head")
};

// compressed-tensors' quantization_config (compressed_tensors/config and quantization/quant_config.py):
// format int-quantized, quantization_status compressed, each config group's targets (a module name, a
// "re:" regex matched from the name's start as Python's re.match does, or the class name "Linear"),
// `ignore` likewise; weights int 8-bit symmetric per channel or per tensor (static), input activations
// int 8-bit symmetric dynamic per token or static per tensor. `modules` are the model's linear modules
// (lm_head included where it is one). Throws CheckpointError(file, problem) naming the field for
// anything else (asymmetric, grouped, fp8, weight-only, a target that names no module, a module two
// groups target), since the audit could not model how it runs.
ThirdPartyScheme compressed_tensors_scheme(const nlohmann::json& quantization_config, const std::filesystem::path& file,
                                           const std::vector<std::string>& modules);

// lmdeploy's (lite/apis/smooth_quant.py): quant_dtype int8; every linear of the decoder layers is a
// QLinear (per-channel float32 scale, dynamic per-token input) unless modules_to_not_convert (or
// lmdeploy's own 'lora') is a substring of its name (lite/quantization/awq.py skipped_module); the
// head stays float. `modules` as above; those outside "model.layers." are untouched.
ThirdPartyScheme lmdeploy_scheme(const nlohmann::json& quantization_config, const std::filesystem::path& file,
                                 const std::vector<std::string>& modules);

}  // namespace smoothcheck::pipeline
