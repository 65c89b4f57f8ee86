// A model directory is opened by what it contains, in transformers' order of preference:
//   model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json,
// and failing those a single llama2.c legacy file (*.bin that is not a zip archive).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/llama_config.h"

namespace smoothcheck::checkpoint {

struct ModelDir {
  std::filesystem::path dir;
  std::unique_ptr<Checkpoint> checkpoint;
  std::optional<std::filesystem::path> config_json;  // dir/config.json when it exists
};

// A directory as above, or a single file: *.safetensors, *.index.json, a torch.save *.bin or a
// llama2.c *.bin (told apart by the zip signature). Throws CheckpointError naming the path when
// nothing recognisable is there, or when a directory holds several llama2.c candidates.
std::unique_ptr<Checkpoint> open_checkpoint(const std::filesystem::path& dir_or_file);

ModelDir open_model_dir(const std::filesystem::path& dir);

// The LLaMA configuration of a model directory: config.json when present, else the one a llama2.c
// header implies; throws when there is neither.
LlamaConfig llama_config(const ModelDir& model);

}  // namespace smoothcheck::checkpoint
