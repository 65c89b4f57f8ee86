// Streaming safetensors writer: the tensors' names, dtypes and shapes are declared up front, so that
// the file's header (which holds every data offset) is written first and the tensors' bytes then
// follow one at a time, in the declared order, straight from the caller's buffer. The files are
// identical to what a writer given every tensor at once produces (safetensors_writer.h is built on
// this one). Torch-free, so that tools that generate checkpoints need not compile ATen.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/checkpoint/tensor_stream.h"

namespace smoothcheck {
class AtomicFileWriter;
}

namespace smoothcheck::checkpoint {

// The plan's entries validated the way the writers promise: no empty, repeated or reserved
// ("__metadata__") name, a dtype the format defines, nbytes = product(shape) x dtype size.
// Throws CheckpointError naming `file` and the tensor.
void validate_planned_tensors(const std::filesystem::path& file, const std::vector<PlannedTensor>& tensors);

// One .safetensors file: the constructor writes the header, write() takes the tensors' bytes in plan
// order, commit() renames the completed file into place.
class SafetensorsFileStream final : public TensorFileStream {
 public:
  SafetensorsFileStream(const std::filesystem::path& file, std::vector<PlannedTensor> tensors,
                        const std::map<std::string, std::string>& metadata);
  ~SafetensorsFileStream() override;

  void write(const std::string& name, const void* data, std::uint64_t nbytes) override;
  bool complete() const override { return next_ == tensors_.size(); }
  void commit() override;

 private:
  std::filesystem::path file_;
  std::vector<PlannedTensor> tensors_;
  std::size_t next_ = 0;
  std::unique_ptr<AtomicFileWriter> out_;
};

// "<stem>-0000K-of-0000N.safetensors" shards plus "<stem>.safetensors.index.json" (tensor_stream.h).
// Every file carries `metadata` plus {"format": "pt"} unless metadata sets "format".
std::unique_ptr<ShardedTensorStream> open_sharded_safetensors_stream(
    const std::filesystem::path& dir, std::vector<PlannedTensor> tensors, std::uint64_t max_shard_bytes,
    const std::map<std::string, std::string>& metadata = {}, const std::string& stem = "model");

}  // namespace smoothcheck::checkpoint
