#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/pipeline/third_party_scheme.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

ThirdPartyScheme lmdeploy_scheme(const nlohmann::json& q, const std::filesystem::path& file,
                                 const std::vector<std::string>& modules) {
  ThirdPartyScheme s;
  s.format = QuantizedFormat::lmdeploy;
  s.engine = Engine::lmdeploy;
  const auto dtype = checkpoint::config_string(q, "quant_dtype", file);
  if (dtype != "int8")
    throw CheckpointError(file, "quantization_config.quant_dtype is " + (dtype ? "\"" + *dtype + "\"" : std::string("absent")) +
                                    ", not \"int8\" (an fp8 smooth_quant checkpoint is not W8A8 int8)");
  // lite/apis/smooth_quant.py: the patterns it skipped, plus awq.py's SKIPPED_MODULE ('lora'), which it
  // applies whether or not it records it.
  std::vector<std::string> patterns = {"lora"};
  if (q.contains("modules_to_not_convert") && !q["modules_to_not_convert"].is_null()) {
    const nlohmann::json& list = q["modules_to_not_convert"];
    if (!list.is_array())
      throw CheckpointError(file, "quantization_config.modules_to_not_convert is " + checkpoint::json_kind(list) +
                                      ", not a list");
    for (const nlohmann::json& p : list) {
      if (!p.is_string())
        throw CheckpointError(file, "quantization_config.modules_to_not_convert holds " + checkpoint::json_kind(p) +
                                        ", not a string");
      patterns.push_back(p.get<std::string>());
    }
  }
  for (const std::string& m : modules) {
    // smooth_quant.py quantises the nn.Linear modules of the decoder layers only.
    if (m.rfind("model.layers.", 0) != 0) {
      s.untouched[m] = "outside the decoder layers";
      continue;
    }
    std::string skipped;
    for (const std::string& p : patterns)
      if (m.find(p) != std::string::npos) {
        skipped = p;
        break;
      }
    if (!skipped.empty()) s.untouched[m] = "modules_to_not_convert: " + skipped;
    else s.quantized[m] = LinearScheme{WeightGranularity::channel, InputQuant::dynamic_per_token, "every decoder linear"};
  }
  return s;
}

}  // namespace smoothcheck::pipeline
