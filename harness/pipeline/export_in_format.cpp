#include "harness/pipeline/export_in_format.h"

#include <set>
#include <stdexcept>

namespace smoothcheck::pipeline {

void require_format_options(QuantizedFormat format, SmoothMode mode, WeightQuant weight_variant, bool migration_scales) {
  if (format == QuantizedFormat::smoothcheck) return;
  const std::string name = to_string(format);
  if (mode != SmoothMode::fused)
    throw std::invalid_argument(name + " checkpoints have no place for a migration vector (the runtime never "
                                       "divides by s): only --mode fused can be written in --format " + name);
  (void)migration_scales;  // not stored in these formats: the fused export is complete without them
  const WeightQuant own = format == QuantizedFormat::compressed_tensors ? WeightQuant::compressed_tensors
                                                                        : WeightQuant::lmdeploy;
  if (weight_variant != own)
    throw std::invalid_argument("--format " + name + " stores the scale its own quantiser computes (" +
                                (format == QuantizedFormat::compressed_tensors
                                     ? "absmax/127.5 in the weight's dtype"
                                     : "absmax/127 in float32") +
                                "): use --weight-variant " + to_string(own) + " (--engine " +
                                (format == QuantizedFormat::compressed_tensors ? "llmcompressor" : "lmdeploy") +
                                " sets it), not " + to_string(weight_variant));
}

std::string scale_tensor_name(QuantizedFormat format, const std::string& linear) {
  return linear + (format == QuantizedFormat::compressed_tensors ? ".weight_scale" : ".scale");
}

DType scale_tensor_dtype(QuantizedFormat format, DType model_dtype) {
  return format == QuantizedFormat::compressed_tensors ? model_dtype : DType::f32;
}

std::vector<ExportTensor> layout_in_format(const std::vector<ExportTensor>& smoothcheck_layout,
                                           const std::vector<QuantizedLinear>& linears, QuantizedFormat format,
                                           DType model_dtype) {
  std::set<std::string> scales;
  for (const QuantizedLinear& l : linears) scales.insert(l.name + ".scale");
  std::vector<ExportTensor> out;
  for (ExportTensor e : smoothcheck_layout) {
    if (scales.count(e.name)) {
      const std::string linear = e.name.substr(0, e.name.size() - 6);
      e.name = scale_tensor_name(format, linear);
      e.dtype = scale_tensor_dtype(format, model_dtype);
    }
    out.push_back(e);
  }
  return out;
}

nlohmann::json third_party_quantization_config(QuantizedFormat format) {
  if (format == QuantizedFormat::lmdeploy)
    // lite/apis/smooth_quant.py: quant_method and quant_dtype; modules_to_not_convert only when a model
    // skips some (LLaMA skips none).
    return {{"quant_method", "smooth_quant"}, {"quant_dtype", "int8"}};
  if (format != QuantizedFormat::compressed_tensors)
    throw std::logic_error("third_party_quantization_config: smoothcheck's own config is quantization_config.h's");
  // The fields compressed-tensors' QuantizationConfig serialises for its W8A8 preset
  // (quantization/quant_scheme.py INT8_W8A8, quant_config.py), with llm-compressor's ignore of the head.
  const auto args = [](const char* strategy, bool dynamic) {
    return nlohmann::json{{"num_bits", 8},        {"type", "int"},           {"symmetric", true},
                          {"group_size", nullptr}, {"strategy", strategy},    {"block_structure", nullptr},
                          {"dynamic", dynamic},    {"actorder", nullptr},     {"observer", nullptr},
                          {"observer_kwargs", nlohmann::json::object()}};
  };
  nlohmann::json group = {{"targets", {"Linear"}},
                          {"weights", args("channel", false)},
                          {"input_activations", args("token", true)},
                          {"output_activations", nullptr},
                          {"format", nullptr}};
  return {{"quant_method", "compressed-tensors"},
          {"format", "int-quantized"},
          {"quantization_status", "compressed"},
          {"config_groups", {{"group_0", group}}},
          {"kv_cache_scheme", nullptr},
          {"global_compression_ratio", nullptr},
          {"ignore", {"lm_head"}}};
}

}  // namespace smoothcheck::pipeline
