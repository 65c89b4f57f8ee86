#include "harness/pipeline/quantization_config.h"

#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

namespace {

// Every enumerator of an options.h enum, counting up from 0 until to_string says "?" (options.h's
// convention), so that a new enumerator is parsed without a list to update.
template <class E>
E parse_named(const std::string& s, const char* what) {
  std::string names;
  for (int i = 0;; ++i) {
    const E e = static_cast<E>(i);
    const std::string name = to_string(e);
    if (name == "?") break;
    if (name == s) return e;
    names += (names.empty() ? "" : ", ") + name;
  }
  throw std::invalid_argument(std::string("unknown ") + what + " '" + s + "' (" + names + ")");
}

}  // namespace

QuantizationConfig config_of_profile(const EngineProfile& profile) {
  QuantizationConfig q;
  q.engine = profile.engine;
  q.recipe = profile.recipe;
  q.alpha = profile.alpha;
  q.fc_to_fc_pairs = profile.fc_to_fc_pairs;
  q.smoothing_arithmetic = profile.smoothing_arithmetic;
  q.weight_variant = profile.weight;
  q.activation = profile.activation;
  q.epilogue = profile.epilogue;
  return q;
}

Engine parse_engine(const std::string& s) { return parse_named<Engine>(s, "engine"); }

SmoothingArithmetic parse_smoothing_arithmetic(const std::string& s) {
  return parse_named<SmoothingArithmetic>(s, "smoothing arithmetic");
}

Recipe parse_recipe(const std::string& s) {
  for (Recipe r : {Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor})
    if (s == to_string(r)) return r;
  throw std::invalid_argument("unknown recipe '" + s + "' (smoothquant, lmdeploy, llmcompressor)");
}

SmoothMode parse_mode(const std::string& s) {
  for (SmoothMode m : {SmoothMode::fused, SmoothMode::migration})
    if (s == to_string(m)) return m;
  throw std::invalid_argument("unknown mode '" + s + "' (fused, migration)");
}

WeightQuant parse_weight_variant(const std::string& s) {
  for (WeightQuant w : {WeightQuant::lmdeploy, WeightQuant::smoothquant, WeightQuant::compressed_tensors})
    if (s == to_string(w)) return w;
  throw std::invalid_argument("unknown weight variant '" + s + "' (lmdeploy, smoothquant, compressed_tensors)");
}

nlohmann::json to_json(const QuantizationConfig& q) {
  nlohmann::json j;
  j["quant_method"] = kQuantMethod;
  j["engine"] = to_string(q.engine);
  j["recipe"] = to_string(q.recipe);
  j["alpha"] = q.alpha;
  if (!q.group_alphas.empty()) j["alpha_per_group"] = q.group_alphas;
  j["mode"] = to_string(q.mode);
  j["fc_to_fc_pairs"] = q.fc_to_fc_pairs;
  j["smoothing_arithmetic"] = to_string(q.smoothing_arithmetic);
  j["weight_variant"] = to_string(q.weight_variant);
  j["rounding"] = to_string(q.rounding);
  j["weight_scheme"] = "int8 symmetric per output channel, scale [out_features, 1] float32";
  j["activation_scheme"] = "int8 dynamic per token, absmax / 127";
  j["activation"] = {{"rounding", to_string(q.activation.rounding)},
                     {"scale_math", to_string(q.activation.math)},
                     {"clamp", to_string(q.activation.clamp)},
                     {"zero_row", to_string(q.activation.zero_row)},
                     {"absmax_floor", q.activation.absmax_floor}};
  j["epilogue"] = to_string(q.epilogue);
  j["migration_scales"] = q.migration_scales;
  j["smoothing"] = q.smoothing;
  j["runtime_divides_by_migration_scale"] = q.mode == SmoothMode::migration;
  if (!q.stats_file.empty()) j["calibration_stats"] = q.stats_file;
  return j;
}

QuantizationConfig quantization_config_from_json(const nlohmann::json& j, const std::filesystem::path& file) {
  if (!j.is_object()) throw CheckpointError(file, "quantization_config is " + checkpoint::json_kind(j) + ", not an object");
  auto str = [&](const char* key) -> std::string {
    if (!j.contains(key)) throw CheckpointError(file, std::string("quantization_config lacks ") + key);
    if (!j[key].is_string()) throw CheckpointError(file, std::string("quantization_config.") + key + " is not a string");
    return j[key].get<std::string>();
  };
  if (str("quant_method") != kQuantMethod)
    throw CheckpointError(file, "quantization_config.quant_method is '" + str("quant_method") + "', not " + kQuantMethod);
  QuantizationConfig q;
  try {
    if (j.contains("engine")) q.engine = parse_engine(str("engine"));
    q.recipe = parse_recipe(str("recipe"));
    q.mode = parse_mode(str("mode"));
    q.weight_variant = parse_weight_variant(str("weight_variant"));
    if (j.contains("epilogue")) q.epilogue = parse_named<Epilogue>(str("epilogue"), "epilogue");
    q.smoothing_arithmetic = j.contains("smoothing_arithmetic")
                                 ? parse_named<SmoothingArithmetic>(str("smoothing_arithmetic"), "smoothing_arithmetic")
                                 : SmoothingArithmetic::float32;
    if (j.contains("activation")) {
      const nlohmann::json& a = j["activation"];
      if (!a.is_object()) throw CheckpointError(file, "quantization_config.activation is not an object");
      auto field = [&](const char* key) -> std::string {
        if (!a.contains(key) || !a[key].is_string())
          throw CheckpointError(file, std::string("quantization_config.activation.") + key + " is not a string");
        return a[key].get<std::string>();
      };
      q.activation.rounding = parse_named<Rounding>(field("rounding"), "activation rounding");
      q.activation.math = parse_named<ScaleMath>(field("scale_math"), "activation scale_math");
      q.activation.clamp = parse_named<Clamp>(field("clamp"), "activation clamp");
      q.activation.zero_row = parse_named<ZeroRow>(field("zero_row"), "activation zero_row");
      if (!a.contains("absmax_floor") || !a["absmax_floor"].is_number())
        throw CheckpointError(file, "quantization_config.activation.absmax_floor is not a number");
      q.activation.absmax_floor = a["absmax_floor"].get<float>();
    }
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(file, std::string("quantization_config: ") + e.what());
  }
  if (j.contains("fc_to_fc_pairs")) {
    if (!j["fc_to_fc_pairs"].is_boolean()) throw CheckpointError(file, "quantization_config.fc_to_fc_pairs is not a boolean");
    q.fc_to_fc_pairs = j["fc_to_fc_pairs"].get<bool>();
  }
  if (str("rounding") != "half_even") throw CheckpointError(file, "quantization_config.rounding must be half_even");
  if (!j.contains("alpha") || !j["alpha"].is_number()) throw CheckpointError(file, "quantization_config.alpha is not a number");
  q.alpha = j["alpha"].get<float>();
  if (j.contains("alpha_per_group")) {
    const nlohmann::json& per = j["alpha_per_group"];
    if (!per.is_object()) throw CheckpointError(file, "quantization_config.alpha_per_group is not an object");
    for (const auto& [source, a] : per.items()) {
      if (!a.is_number() || !(a.get<double>() >= 0 && a.get<double>() <= 1))
        throw CheckpointError(file, "quantization_config.alpha_per_group." + source + " is not a number in [0, 1]");
      q.group_alphas[source] = a.get<float>();
    }
  }
  if (j.contains("migration_scales")) {
    if (!j["migration_scales"].is_boolean()) throw CheckpointError(file, "quantization_config.migration_scales is not a boolean");
    q.migration_scales = j["migration_scales"].get<bool>();
  }
  if (j.contains("smoothing")) {
    if (!j["smoothing"].is_boolean()) throw CheckpointError(file, "quantization_config.smoothing is not a boolean");
    q.smoothing = j["smoothing"].get<bool>();
  }
  if (j.contains("calibration_stats") && j["calibration_stats"].is_string()) q.stats_file = j["calibration_stats"];
  return q;
}

QuantizationConfig require_export_quantization_config(const std::filesystem::path& export_dir,
                                                      const std::optional<std::filesystem::path>& config_json) {
  if (!config_json) throw checkpoint::CheckpointError(export_dir, "has no config.json (and so no quantization_config)");
  const auto qc = read_quantization_config(*config_json);
  if (!qc) throw checkpoint::CheckpointError(*config_json, "has no quantization_config: not a smoothcheck export");
  return *qc;
}

std::optional<QuantizationConfig> read_quantization_config(const std::filesystem::path& config_json) {
  const nlohmann::json j = checkpoint::read_config_json(config_json);
  if (!j.is_object() || !j.contains("quantization_config")) return std::nullopt;
  return quantization_config_from_json(j["quantization_config"], config_json);
}

}  // namespace smoothcheck::pipeline
