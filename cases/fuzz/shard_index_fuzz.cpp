// libFuzzer target: both shard index formats (model.safetensors.index.json and
// pytorch_model.bin.index.json, harness/checkpoint/shard_index.h), opened the way a model directory
// is (open_checkpoint), beside real shards of each kind. An accepted index may only name plain files
// inside its own directory, and every tensor it lists must then be readable or refused by name.
#include <ATen/ATen.h>

#include "fuzz_support.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_bin.h"

namespace {

namespace fs = std::filesystem;
using smoothcheck::fuzz::fuzz_require;

// The shards every index may point at; seeds name them (make_seed_corpus.cpp).
const fs::path& model_dir_with_shards() {
  static const fs::path dir = [] {
    const fs::path d = smoothcheck::fuzz::process_scratch_dir() / "sharded";
    fs::create_directories(d);
    using smoothcheck::checkpoint::NamedTensors;
    const NamedTensors first = {{"a", at::arange(4, at::kFloat)}, {"b", at::ones({2, 2}, at::kHalf)}};
    const NamedTensors second = {{"c", at::zeros({3}, at::kChar)}};
    smoothcheck::checkpoint::write_safetensors(d / "model-00001-of-00002.safetensors", first);
    smoothcheck::checkpoint::write_safetensors(d / "model-00002-of-00002.safetensors", second);
    smoothcheck::checkpoint::write_torch_bin(d / "pytorch_model-00001-of-00002.bin", first);
    smoothcheck::checkpoint::write_torch_bin(d / "pytorch_model-00002-of-00002.bin", second);
    return d;
  }();
  return dir;
}

void open_and_read(const fs::path& index) {
  // The parser's promise, checked on its own result: names stay inside the directory.
  const auto parsed = smoothcheck::checkpoint::read_shard_index(index);
  for (const auto& [tensor, shard] : parsed.weight_map) {
    fuzz_require(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..",
                 "accepted shard name '" + shard + "' for '" + tensor + "'");
    fuzz_require(fs::is_regular_file(index.parent_path() / shard), "accepted missing shard '" + shard + "'");
  }
  const auto checkpoint = smoothcheck::checkpoint::open_checkpoint(index);
  for (const std::string& name : checkpoint->tensor_names()) {
    fuzz_require(checkpoint->contains(name), "tensor_names() lists '" + name + "' but contains() denies it");
    const auto info = checkpoint->info(name);
    const at::Tensor t = checkpoint->tensor(name);
    fuzz_require(static_cast<std::uint64_t>(t.numel()) * t.element_size() == info.nbytes,
                 "tensor('" + name + "') disagrees with info()");
  }
}

}  // namespace

SMOOTHCHECK_FUZZ_TARGET(shard_index) {
  const fs::path& dir = model_dir_with_shards();
  for (const char* name : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
    smoothcheck::fuzz::write_file(dir / name, data, size);
    try {
      open_and_read(dir / name);
    } catch (...) {
      fs::remove(dir / name);
      throw;
    }
    fs::remove(dir / name);
  }
}
