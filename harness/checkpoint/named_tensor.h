// The writers' input: tensors in the order they are to be stored, each under its checkpoint name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace smoothcheck::checkpoint {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;  // any device, any strides; stored as its contiguous CPU copy in its own dtype
};

using NamedTensors = std::vector<NamedTensor>;

// What a sharded writer produced.
struct ShardedWrite {
  std::filesystem::path index_file;
  std::vector<std::filesystem::path> shards;
  std::uint64_t total_size = 0;  // exact sum of tensor bytes, as written to metadata.total_size
};

}  // namespace smoothcheck::checkpoint
