// What the streaming writers share: a tensor declared before its bytes exist (PlannedTensor), one file
// that takes the bytes one tensor at a time in the declared order (TensorFileStream: safetensors in
// safetensors_stream_writer.h, torch.save in torch_bin.h), and the sharding around such files
// (ShardedTensorStream), so that an exporter holds one layer rather than the model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/checkpoint/named_tensor.h"

namespace smoothcheck::checkpoint {

// A tensor to be written: `dtype` in the safetensors spelling (F16, I8, I64, ...), `nbytes` its data size.
struct PlannedTensor {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t nbytes = 0;
};

// One file whose header was written from its plan when it was opened. A stream destroyed before
// commit() leaves nothing behind (atomic_file.h).
class TensorFileStream {
 public:
  virtual ~TensorFileStream() = default;
  // Throws CheckpointError when `name` is not the next planned tensor or nbytes differs from its plan.
  virtual void write(const std::string& name, const void* data, std::uint64_t nbytes) = 0;
  virtual bool complete() const = 0;
  // Renames the finished file into place; CheckpointError naming the first tensor never written.
  virtual void commit() = 0;
};

using TensorFileStreamFactory =
    std::function<std::unique_ptr<TensorFileStream>(const std::filesystem::path&, std::vector<PlannedTensor>)>;

// Shards of at most max_shard_bytes (plan_shards) named "<stem>-0000K-of-0000N<extension>" in dir, one
// open at a time, then "<stem><extension>.index.json" with the exact metadata.total_size, written last
// by finish() so that a failure leaves no index naming missing shards.
class ShardedTensorStream {
 public:
  // Throws CheckpointError naming the index file for a zero max_shard_bytes or an empty or repeated
  // name; the factory validates the rest (dtypes, sizes) per file.
  ShardedTensorStream(const std::filesystem::path& dir, const std::string& stem, const std::string& extension,
                      std::vector<PlannedTensor> tensors, std::uint64_t max_shard_bytes, TensorFileStreamFactory open);
  ~ShardedTensorStream();
  ShardedTensorStream(const ShardedTensorStream&) = delete;
  ShardedTensorStream& operator=(const ShardedTensorStream&) = delete;

  void write(const std::string& name, const void* data, std::uint64_t nbytes);
  ShardedWrite finish();

 private:
  void open_shard();

  std::filesystem::path dir_;
  std::string stem_, extension_;
  std::vector<PlannedTensor> tensors_;
  std::vector<std::vector<std::size_t>> plan_;
  TensorFileStreamFactory open_;
  std::size_t shard_ = 0;    // the shard being written
  std::size_t written_ = 0;  // tensors written, over all shards
  std::unique_ptr<TensorFileStream> current_;
  ShardedWrite result_;
};

}  // namespace smoothcheck::checkpoint
