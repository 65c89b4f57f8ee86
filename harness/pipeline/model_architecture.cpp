#include "harness/pipeline/model_architecture.h"

#include "harness/checkpoint/json_text.h"

namespace smoothcheck::pipeline {

Architecture model_architecture(const checkpoint::ModelDir& model) {
  if (!model.config_json) return Architecture::llama;
  const nlohmann::json j = checkpoint::read_json_file(*model.config_json, "config.json", checkpoint::kMaxConfigJsonDepth, checkpoint::kMaxConfigJsonBytes);
  const auto type = checkpoint::config_string(j, "model_type", *model.config_json);
  return type && *type == "bert" ? Architecture::bert : Architecture::llama;
}

}  // namespace smoothcheck::pipeline
