#include "harness/pipeline/quantized_format.h"

#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/checkpoint/model_dir.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// What the tensor names say: which scale tensors the checkpoint stores.
struct ScaleTensors {
  std::string weight_scale, scale, migration_scale;  // the first of each kind, "" when none
};

ScaleTensors scale_tensors(const checkpoint::Checkpoint& ckpt) {
  ScaleTensors t;
  for (const std::string& n : ckpt.tensor_names()) {
    if (t.weight_scale.empty() && ends_with(n, ".weight_scale")) t.weight_scale = n;
    if (t.migration_scale.empty() && ends_with(n, ".migration_scale")) t.migration_scale = n;
    if (t.scale.empty() && ends_with(n, ".scale")) t.scale = n;
  }
  return t;
}

// The smoothcheck fields of a "smooth_quant" quantization_config (quantization_config.cpp's to_json);
// lmdeploy's has none of them.
bool has_smoothcheck_fields(const nlohmann::json& q) {
  for (const char* key : {"recipe", "mode", "weight_variant", "engine"})
    if (q.contains(key)) return true;
  return false;
}

}  // namespace

const char* to_string(QuantizedFormat f) {
  switch (f) {
    case QuantizedFormat::smoothcheck: return "smoothcheck";
    case QuantizedFormat::compressed_tensors: return "compressed-tensors";
    case QuantizedFormat::lmdeploy: return "lmdeploy";
  }
  return "?";
}

QuantizedFormat parse_quantized_format(const std::string& name) {
  for (QuantizedFormat f : {QuantizedFormat::smoothcheck, QuantizedFormat::compressed_tensors, QuantizedFormat::lmdeploy})
    if (name == to_string(f)) return f;
  throw std::invalid_argument("unknown format '" + name + "' (smoothcheck, compressed-tensors, lmdeploy)");
}

DetectedFormat detect_quantized_format(const std::filesystem::path& dir, std::optional<QuantizedFormat> requested) {
  const std::filesystem::path config_json = dir / "config.json";
  if (std::filesystem::is_directory(dir) && std::filesystem::exists(dir / "rank0.safetensors"))
    throw CheckpointError(dir, "holds rank0.safetensors: a TensorRT-LLM checkpoint, whose SmoothQuant layout "
                               "(per_channel_scale, act_scale, smoother) smoothcheck does not read yet");
  if (!std::filesystem::is_regular_file(config_json))
    throw CheckpointError(dir, "has no config.json, so its quantisation format cannot be told");
  const nlohmann::json config = checkpoint::read_config_json(config_json);
  if (!config.is_object()) throw CheckpointError(config_json, "is " + checkpoint::json_kind(config) + ", not an object");
  // TensorRT-LLM's converters write "quantization": {"quant_algo": "W8A8_SQ_PER_CHANNEL...", ...}
  // (tensorrt_llm/models/modeling_utils.py, QuantConfig) instead of quantization_config.
  if (config.contains("quantization") && config["quantization"].is_object() &&
      config["quantization"].contains("quant_algo"))
    throw CheckpointError(config_json, "has TensorRT-LLM's \"quantization\".quant_algo: a TensorRT-LLM checkpoint, "
                                       "which smoothcheck does not read yet");
  if (!config.contains("quantization_config"))
    throw CheckpointError(config_json, "has no quantization_config: not a quantised checkpoint (verify takes the "
                                       "original model first, then the quantised one)");
  const nlohmann::json& q = config["quantization_config"];
  if (!q.is_object()) throw CheckpointError(config_json, "quantization_config is " + checkpoint::json_kind(q) + ", not an object");
  const auto method = checkpoint::config_string(q, "quant_method", config_json);
  if (!method) throw CheckpointError(config_json, "quantization_config has no quant_method");

  DetectedFormat d;
  if (*method == "compressed-tensors") {
    d.format = QuantizedFormat::compressed_tensors;
    d.evidence = "quantization_config.quant_method is \"compressed-tensors\"";
  } else if (*method == "smooth_quant") {
    const bool ours = has_smoothcheck_fields(q), lmdeploy = q.contains("quant_dtype");
    if (ours && lmdeploy)
      throw CheckpointError(config_json, "quantization_config mixes formats: smoothcheck's fields (recipe, mode, ...) "
                                         "beside lmdeploy's quant_dtype");
    if (!ours && !lmdeploy)
      throw CheckpointError(config_json, "quantization_config has quant_method \"smooth_quant\" but neither lmdeploy's "
                                         "quant_dtype nor smoothcheck's recipe and mode: unknown format");
    d.format = ours ? QuantizedFormat::smoothcheck : QuantizedFormat::lmdeploy;
    d.evidence = ours ? "quantization_config.quant_method is \"smooth_quant\" with smoothcheck's recipe and mode"
                      : "quantization_config.quant_method is \"smooth_quant\" with lmdeploy's quant_dtype";
  } else {
    throw CheckpointError(config_json, "quantization_config.quant_method is \"" + *method +
                                           "\": not a W8A8 SmoothQuant format smoothcheck reads (compressed-tensors, "
                                           "lmdeploy's or smoothcheck's smooth_quant)");
  }
  if (requested && *requested != d.format)
    throw CheckpointError(config_json, std::string("--format ") + to_string(*requested) + " was asked for, but the "
                                           "checkpoint is " + to_string(d.format) + " (" + d.evidence + ")");

  // The tensors must be the config's format: a checkpoint whose config was swapped or hand-edited is
  // mixed, and none of the audits below would read it as it will be run.
  const checkpoint::ModelDir opened = checkpoint::open_model_dir(dir);
  const ScaleTensors t = scale_tensors(*opened.checkpoint);
  const auto mixed = [&](const std::string& tensor, const std::string& why) {
    throw CheckpointError(opened.checkpoint->location(), tensor,
                          std::string("mixed formats: config.json says ") + to_string(d.format) + ", but " + why);
  };
  switch (d.format) {
    case QuantizedFormat::compressed_tensors:
      if (!t.scale.empty()) mixed(t.scale, "a .scale tensor is lmdeploy's or smoothcheck's (compressed-tensors: .weight_scale)");
      if (!t.migration_scale.empty()) mixed(t.migration_scale, "compressed-tensors has no migration scales");
      break;
    case QuantizedFormat::lmdeploy:
      if (!t.weight_scale.empty()) mixed(t.weight_scale, "a .weight_scale tensor is compressed-tensors' (lmdeploy: .scale)");
      if (!t.migration_scale.empty()) mixed(t.migration_scale, "lmdeploy's format has no migration scales (smoothcheck's has)");
      break;
    case QuantizedFormat::smoothcheck:
      if (!t.weight_scale.empty()) mixed(t.weight_scale, "a .weight_scale tensor is compressed-tensors' (smoothcheck: .scale)");
      break;
  }
  return d;
}

}  // namespace smoothcheck::pipeline
