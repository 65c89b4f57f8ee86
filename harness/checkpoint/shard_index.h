// Sharded checkpoints: the "<stem>.index.json" of Hugging Face (model.safetensors.index.json,
// pytorch_model.bin.index.json): {"metadata": {"total_size": <bytes>}, "weight_map": {tensor: shard}},
// how shard files are named, and how tensors are split among them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smoothcheck::checkpoint {

struct ShardIndex {
  // metadata.total_size: by convention the sum of every tensor's bytes (numerics.md §11 checks it
  // moves by exactly 4 x sum(in_features) when migration scales are exported). Absent in some
  // hand-made indexes, hence optional.
  std::optional<std::uint64_t> total_size;
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::map<std::string, std::string> other_metadata;  // metadata entries other than total_size, as JSON text

  std::vector<std::string> shard_files() const;  // distinct, sorted
};

// Reads and validates an index: a JSON object with an object "weight_map" of string values, each a
// plain file name (see check_shard_name) naming an existing file in the index's directory.
ShardIndex read_shard_index(const std::filesystem::path& index_file);

// Writes the index atomically, keys sorted, with two-space indentation as transformers does.
void write_shard_index(const std::filesystem::path& index_file, const ShardIndex& index);

// A shard must be a plain file name inside the model directory: absolute paths, any '/' or '\\',
// "." and ".." are refused, so an index cannot make the harness read outside the directory. A
// shard that is itself a symlink is allowed (hub caches link shards into a blob store).
void check_shard_name(const std::filesystem::path& index_file, const std::string& tensor, const std::string& shard);

// "model-00001-of-00003.safetensors": 1-based, five digits, as transformers names shards.
std::string shard_file_name(const std::string& stem, const std::string& extension, std::size_t k, std::size_t n);

// Greedy split in the given order: a shard is closed when the next tensor would take it past
// max_shard_bytes; a tensor larger than the limit gets a shard of its own (transformers does the same).
std::vector<std::vector<std::size_t>> plan_shards(const std::vector<std::uint64_t>& tensor_bytes,
                                                  std::uint64_t max_shard_bytes);

}  // namespace smoothcheck::checkpoint
