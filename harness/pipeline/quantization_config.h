// The "quantization_config" object an export adds to config.json: what was done to the weights and
// what the runtime must do (divide activations by migration_scale in migration mode, nothing in fused
// mode, where the norms already carry 1/s). Parsing is strict: an export whose config does not say
// how to run it cannot be verified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kernels/engine_profiles.h"
#include "kernels/options.h"

namespace smoothcheck::pipeline {

inline constexpr const char* kQuantMethod = "smooth_quant";

struct QuantizationConfig {
  // The engine profile the export follows (kernels/engine_profiles.h); the fields below start from it
  // and record any per-step override. An export written before profiles existed has no "engine": it
  // was lmdeploy's plan, run with vLLM's dynamic per-token kernel and epilogue (what it is read as).
  Engine engine = Engine::lmdeploy;
  Recipe recipe = Recipe::lmdeploy;
  float alpha = 0.5f;
  // Groups smoothed with their own α (quantize --alpha-file), by group source; "alpha_per_group".
  std::map<std::string, float> group_alphas;
  SmoothMode mode = SmoothMode::fused;
  bool fc_to_fc_pairs = true;  // v -> o and up -> down smoothed besides the norm groups
  // The dtype s was computed and applied in. An export without the field was made before profiles
  // existed, in float32 (what it is read as).
  SmoothingArithmetic smoothing_arithmetic = SmoothingArithmetic::model_dtype;
  WeightQuant weight_variant = WeightQuant::lmdeploy;
  // Weight codes are rne (every §5 variant).
  Rounding rounding = Rounding::half_even;
  // What the runtime does: its dynamic per-token activation quantiser and its GEMM epilogue.
  ActQuantOptions activation = vllm_dynamic_act_quant();
  Epilogue epilogue = Epilogue::vllm;
  bool migration_scales = true;  // <linear>.migration_scale present
  bool smoothing = true;         // false: the plain W8A8 baseline, s = 1 for every linear
  std::string stats_file;        // provenance only
};

nlohmann::json to_json(const QuantizationConfig& q);
// Throws CheckpointError(file, problem) naming the field.
QuantizationConfig quantization_config_from_json(const nlohmann::json& j, const std::filesystem::path& file);
// Reads config.json's "quantization_config"; nullopt when config.json has none.
std::optional<QuantizationConfig> read_quantization_config(const std::filesystem::path& config_json);
// The quantization_config of the export in `export_dir` (whose config.json is `config_json`, when it
// has one); throws CheckpointError when there is no config.json or it carries none.
QuantizationConfig require_export_quantization_config(const std::filesystem::path& export_dir,
                                                      const std::optional<std::filesystem::path>& config_json);

// The profile's choices: what `quantize --engine E` starts from (per-step options may then override).
QuantizationConfig config_of_profile(const EngineProfile& profile);

Engine parse_engine(const std::string& s);            // std::invalid_argument for an unknown name
SmoothingArithmetic parse_smoothing_arithmetic(const std::string& s);
Recipe parse_recipe(const std::string& s);
SmoothMode parse_mode(const std::string& s);
WeightQuant parse_weight_variant(const std::string& s);

}  // namespace smoothcheck::pipeline
