#include <regex>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/pipeline/third_party_scheme.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

const char* to_string(WeightGranularity g) { return g == WeightGranularity::channel ? "channel" : "tensor"; }
const char* to_string(InputQuant a) {
  return a == InputQuant::dynamic_per_token ? "dynamic per token" : "static per tensor";
}

namespace {

// compressed_tensors/utils/match.py match_name: "re:<pattern>" is Python's re.match (anchored at the
// start, not the end); anything else is the exact module name. A class target matches by class name:
// every module passed here is a torch.nn.Linear.
bool target_matches(const std::string& target, const std::string& module, const std::filesystem::path& file,
                    const std::string& where) {
  if (target.rfind("re:", 0) == 0) {
    try {
      const std::regex re(target.substr(3), std::regex::ECMAScript);
      return std::regex_search(module, re, std::regex_constants::match_continuous);
    } catch (const std::regex_error& e) {
      throw CheckpointError(file, where + ": regex '" + target.substr(3) + "' cannot be read (" + e.what() + ")");
    }
  }
  return target == "Linear" || target == module;
}

std::vector<std::string> string_list(const nlohmann::json& q, const char* key, const std::filesystem::path& file,
                                     const std::string& where) {
  std::vector<std::string> out;
  if (!q.contains(key) || q[key].is_null()) return out;
  if (q[key].is_string()) return {q[key].get<std::string>()};
  if (!q[key].is_array()) throw CheckpointError(file, where + key + " is " + checkpoint::json_kind(q[key]) + ", not a list");
  for (const nlohmann::json& e : q[key]) {
    if (!e.is_string()) throw CheckpointError(file, where + key + " holds " + checkpoint::json_kind(e) + ", not a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// One QuantizationArgs object (compressed_tensors/quantization/quant_args.py): 8-bit symmetric int, the
// strategies smoothcheck models. Returns the strategy.
std::string int8_symmetric_strategy(const nlohmann::json& a, const std::filesystem::path& file, const std::string& where,
                                    bool dynamic_expected_for_token) {
  if (!a.is_object()) throw CheckpointError(file, where + " is " + checkpoint::json_kind(a) + ", not an object");
  const auto bits = checkpoint::config_int(a, "num_bits", file);
  if (bits != 8) throw CheckpointError(file, where + ".num_bits is " + (bits ? std::to_string(*bits) : "absent") + ", not 8");
  const auto type = checkpoint::config_string(a, "type", file);
  if (type != "int")
    throw CheckpointError(file, where + ".type is " + (type ? "\"" + *type + "\"" : "absent") +
                                    ", not \"int\" (an fp8 checkpoint is not W8A8 int8)");
  if (checkpoint::config_bool(a, "symmetric", file) != true)
    throw CheckpointError(file, where + ".symmetric is not true: asymmetric int8 (zero points) is not modelled");
  const auto strategy = checkpoint::config_string(a, "strategy", file);
  if (!strategy) throw CheckpointError(file, where + ".strategy is absent");
  bool dynamic = false;
  if (a.contains("dynamic") && !a["dynamic"].is_null()) {
    if (!a["dynamic"].is_boolean())
      throw CheckpointError(file, where + ".dynamic is " + a["dynamic"].dump() + ": only true and false are modelled");
    dynamic = a["dynamic"].get<bool>();
  }
  if (*strategy == "token" && dynamic != dynamic_expected_for_token)
    throw CheckpointError(file, where + ": a per-token strategy must be dynamic");
  if ((*strategy == "channel" || *strategy == "tensor") && dynamic)
    throw CheckpointError(file, where + ": dynamic per-" + *strategy + " quantisation is not modelled");
  return *strategy;
}

}  // namespace

ThirdPartyScheme compressed_tensors_scheme(const nlohmann::json& q, const std::filesystem::path& file,
                                           const std::vector<std::string>& modules) {
  ThirdPartyScheme s;
  s.format = QuantizedFormat::compressed_tensors;
  s.engine = Engine::llmcompressor;
  const auto format = checkpoint::config_string(q, "format", file);
  if (format != "int-quantized")
    throw CheckpointError(file, "quantization_config.format is " + (format ? "\"" + *format + "\"" : std::string("absent")) +
                                    ", not \"int-quantized\" (W8A8 int8 with int8 weights stored)");
  const auto status = checkpoint::config_string(q, "quantization_status", file);
  if (status && *status != "compressed")
    throw CheckpointError(file, "quantization_config.quantization_status is \"" + *status +
                                    "\": the weights were saved unpacked (float), not as int8 codes");
  if (!q.contains("config_groups") || !q["config_groups"].is_object() || q["config_groups"].empty())
    throw CheckpointError(file, "quantization_config.config_groups is absent or empty");
  const std::vector<std::string> ignore = string_list(q, "ignore", file, "quantization_config.");
  for (const std::string& m : modules)
    for (const std::string& rule : ignore)
      if (target_matches(rule, m, file, "quantization_config.ignore")) {
        s.untouched[m] = "quantization_config.ignore: " + rule;
        break;
      }
  for (const auto& [name, group] : q["config_groups"].items()) {
    const std::string where = "quantization_config.config_groups." + name;
    if (!group.is_object()) throw CheckpointError(file, where + " is " + checkpoint::json_kind(group) + ", not an object");
    if (const auto f = checkpoint::config_string(group, "format", file); f && *f != "int-quantized")
      throw CheckpointError(file, where + ".format is \"" + *f + "\", not \"int-quantized\"");
    if (!group.contains("weights") || group["weights"].is_null())
      throw CheckpointError(file, where + ".weights is absent: not a weight quantisation");
    if (!group.contains("input_activations") || group["input_activations"].is_null())
      throw CheckpointError(file, where + ".input_activations is absent: weight-only, not W8A8");
    if (group.contains("output_activations") && !group["output_activations"].is_null())
      throw CheckpointError(file, where + ".output_activations: output quantisation is not modelled");
    LinearScheme ls;
    ls.rule = "config_groups." + name;
    const std::string w = int8_symmetric_strategy(group["weights"], file, where + ".weights", false);
    if (w == "channel") ls.weight = WeightGranularity::channel;
    else if (w == "tensor") ls.weight = WeightGranularity::tensor;
    else throw CheckpointError(file, where + ".weights.strategy is \"" + w + "\": only channel and tensor are modelled");
    const std::string a = int8_symmetric_strategy(group["input_activations"], file, where + ".input_activations", true);
    if (a == "token") ls.input = InputQuant::dynamic_per_token;
    else if (a == "tensor") ls.input = InputQuant::static_per_tensor;
    else
      throw CheckpointError(file, where + ".input_activations.strategy is \"" + a + "\": only token and tensor are modelled");
    const std::vector<std::string> targets = string_list(group, "targets", file, where + ".");
    if (targets.empty()) throw CheckpointError(file, where + ".targets is empty");
    for (const std::string& t : targets) {
      bool matched = false;
      for (const std::string& m : modules) {
        if (!target_matches(t, m, file, where + ".targets")) continue;
        matched = true;
        if (s.untouched.count(m)) continue;
        if (const auto prior = s.quantized.find(m); prior != s.quantized.end() && prior->second.rule != ls.rule)
          throw CheckpointError(file, where + ".targets: " + m + " is also targeted by " + prior->second.rule);
        s.quantized[m] = ls;
      }
      if (!matched)
        throw CheckpointError(file, where + ".targets: '" + t + "' names no linear module of this model");
    }
  }
  for (const std::string& m : modules)
    if (!s.quantized.count(m) && !s.untouched.count(m)) s.untouched[m] = "no config group targets it";
  return s;
}

}  // namespace smoothcheck::pipeline
