#include "harness/pipeline/model_family.h"

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::pipeline {

namespace {

using FamilyOpener = std::unique_ptr<ModelFamily> (*)(checkpoint::ModelDir, const nlohmann::json&);

struct Registration {
  const char* model_type;
  FamilyOpener open;
};

// One line per family file.
constexpr Registration kFamilies[] = {
    {"llama", open_llama_family},
    {"bert", open_bert_family},
};

}  // namespace

void ModelFamily::different_model(const ModelFamily& quantized) const {
  const checkpoint::ModelDir& q = quantized.dir();
  throw checkpoint::CheckpointError(q.config_json ? *q.config_json : q.dir,
                                    "describes a different model than " + dir_.dir.string());
}

std::unique_ptr<ModelFamily> open_model_family(const std::filesystem::path& model) {
  return open_model_family(checkpoint::open_model_dir(model));
}

std::unique_ptr<ModelFamily> open_model_family(checkpoint::ModelDir dir) {
  // A llama2.c file carries its configuration in its header, and LLaMA configs written before
  // transformers stamped model_type lack the field: both are LLaMA, whose reader refuses what it is not.
  nlohmann::json config;
  std::string model_type = "llama";
  if (dir.config_json) {
    config = checkpoint::read_config_json(*dir.config_json);
    if (!config.is_object())
      throw checkpoint::CheckpointError(*dir.config_json, "config.json is " + checkpoint::json_kind(config) +
                                                              ", not an object");
    if (auto type = checkpoint::config_string(config, "model_type", *dir.config_json)) model_type = *type;
  }
  std::string known;
  for (const Registration& r : kFamilies) {
    if (model_type == r.model_type) return r.open(std::move(dir), config);
    known += (known.empty() ? "" : ", ") + std::string(r.model_type);
  }
  throw checkpoint::CheckpointError(*dir.config_json, "model_type is '" + model_type +
                                                          "'; the families implemented are " + known);
}

}  // namespace smoothcheck::pipeline
