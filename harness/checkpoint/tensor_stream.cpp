#include "harness/checkpoint/tensor_stream.h"

#include <set>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/shard_index.h"

namespace smoothcheck::checkpoint {

ShardedTensorStream::ShardedTensorStream(const std::filesystem::path& dir, const std::string& stem,
                                         const std::string& extension, std::vector<PlannedTensor> tensors,
                                         std::uint64_t max_shard_bytes, TensorFileStreamFactory open)
    : dir_(dir), stem_(stem), extension_(extension), tensors_(std::move(tensors)), open_(std::move(open)) {
  result_.index_file = dir_ / (stem_ + extension_ + ".index.json");
  if (max_shard_bytes == 0) throw CheckpointError(result_.index_file, "max shard size must be positive");
  std::set<std::string> seen;
  for (const PlannedTensor& t : tensors_) {
    if (t.name.empty()) throw CheckpointError(result_.index_file, "cannot write a tensor with an empty name");
    if (!seen.insert(t.name).second) throw CheckpointError(result_.index_file, t.name, "the name is given twice");
  }
  std::vector<std::uint64_t> sizes;
  for (const PlannedTensor& t : tensors_) sizes.push_back(t.nbytes);
  plan_ = plan_shards(sizes, max_shard_bytes);
  if (!plan_.empty()) open_shard();
}

ShardedTensorStream::~ShardedTensorStream() = default;

void ShardedTensorStream::open_shard() {
  std::vector<PlannedTensor> members;
  for (std::size_t i : plan_[shard_]) members.push_back(tensors_[i]);
  const std::string name = shard_file_name(stem_, extension_, shard_ + 1, plan_.size());
  current_ = open_(dir_ / name, std::move(members));
  result_.shards.push_back(dir_ / name);
}

void ShardedTensorStream::write(const std::string& name, const void* data, std::uint64_t nbytes) {
  if (!current_) throw CheckpointError(result_.index_file, name, "written after every planned tensor");
  current_->write(name, data, nbytes);
  ++written_;
  if (current_->complete()) {
    current_->commit();
    current_.reset();
    if (++shard_ < plan_.size()) open_shard();
  }
}

ShardedWrite ShardedTensorStream::finish() {
  if (written_ != tensors_.size())
    throw CheckpointError(result_.index_file, tensors_[written_].name, "was never written; the export is incomplete");
  ShardIndex index;
  index.total_size = 0;
  for (std::size_t k = 0; k < plan_.size(); ++k)
    for (std::size_t i : plan_[k]) {
      index.weight_map[tensors_[i].name] = result_.shards[k].filename().string();
      *index.total_size += tensors_[i].nbytes;
    }
  write_shard_index(result_.index_file, index);
  result_.total_size = *index.total_size;
  return result_;
}

}  // namespace smoothcheck::checkpoint
