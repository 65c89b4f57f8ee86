#include "harness/checkpoint/model_dir.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/shard_index.h"

namespace smoothcheck::checkpoint {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// torch.save (>= 1.6) writes a zip archive; a llama2.c file starts with its int32 dim instead.
bool is_zip(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

std::unique_ptr<Checkpoint> open_index(const fs::path& index) {
  // The shard extension decides the reader; transformers names the index after it too.
  const auto shards = read_shard_index(index).shard_files();
  const bool all_safetensors = std::all_of(shards.begin(), shards.end(),
                                           [](const std::string& s) { return ends_with(s, ".safetensors"); });
  const bool all_bin = std::all_of(shards.begin(), shards.end(), [](const std::string& s) { return ends_with(s, ".bin"); });
  if (all_safetensors) return open_safetensors_index(index);
  if (all_bin) return open_torch_bin_index(index);
  throw CheckpointError(index, "shards are neither all .safetensors nor all .bin files");
}

std::unique_ptr<Checkpoint> open_file(const fs::path& file) {
  const std::string name = file.filename().string();
  if (ends_with(name, ".index.json")) return open_index(file);
  if (ends_with(name, ".safetensors")) return open_safetensors(file);
  if (ends_with(name, ".bin")) return is_zip(file) ? open_torch_bin(file) : open_llama2c(file);
  throw CheckpointError(file, "not a recognised checkpoint file (.safetensors, .bin, .index.json)");
}

}  // namespace

std::unique_ptr<Checkpoint> open_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return open_file(path);
  if (!fs::is_directory(path, ec)) throw CheckpointError(path, "is neither a checkpoint file nor a directory");

  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"})
    if (fs::is_regular_file(path / name, ec)) return open_file(path / name);

  std::vector<fs::path> legacy;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (ends_with(entry.path().filename().string(), ".bin") && fs::is_regular_file(entry.path(), ec) &&
        !is_zip(entry.path()))
      legacy.push_back(entry.path());
  if (ec) throw CheckpointError(path, "cannot list the directory: " + ec.message());
  if (legacy.size() == 1) return open_llama2c(legacy.front());
  if (legacy.size() > 1)
    throw CheckpointError(path, "holds " + std::to_string(legacy.size()) +
                                    " llama2.c candidates (*.bin that are not zip archives); open one file directly");
  throw CheckpointError(path, "holds no model.safetensors, model.safetensors.index.json, pytorch_model.bin, "
                              "pytorch_model.bin.index.json or llama2.c *.bin");
}

ModelDir open_model_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw CheckpointError(dir, "is not a directory");
  ModelDir m;
  m.dir = dir;
  m.checkpoint = open_checkpoint(dir);
  if (fs::is_regular_file(dir / "config.json", ec)) m.config_json = dir / "config.json";
  return m;
}

LlamaConfig llama_config(const ModelDir& model) {
  if (model.config_json) return read_llama_config(*model.config_json);
  if (auto c = model.checkpoint->embedded_config()) return *c;
  throw CheckpointError(model.dir, "has no config.json, and its checkpoint does not imply a configuration");
}

}  // namespace smoothcheck::checkpoint
