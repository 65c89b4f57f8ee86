// PyTorch `torch.save` checkpoints (the zip format of torch >= 1.6): pytorch_model.bin and the shards
// of pytorch_model.bin.index.json. Reading goes through LibTorch's own unpickler (the one behind
// torch::jit::pickle_load, over a bounds-checked reader); writing emits the same pickle that
// Python's torch.save writes for a plain dict of tensors, so that torch.load reads it even with
// weights_only=True.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness/checkpoint/named_tensor.h"
#include "harness/checkpoint/opaque_tensor.h"
#include "harness/checkpoint/tensor_stream.h"

namespace smoothcheck::checkpoint {

// Every tensor of a torch.save archive whose top-level object is a dict {str: Tensor}, in the
// file's order, with the dtypes stored. Throws CheckpointError naming the file for a file that is
// not a zip archive (the pre-1.6 format is not read), an archive LibTorch cannot unpickle, or a
// top-level object that is not such a dict. Tensors may share storage (tied weights) and keep the
// strides they were saved with.
NamedTensors read_torch_bin(const std::filesystem::path& file);

// Writes `tensors` as a torch.save archive (atomically). Each tensor is stored as its own contiguous
// CPU copy. Dtypes: f32, f16, bf16, i8, i32, f64 (others refused, as for safetensors).
// `opaque` tensors (opaque_tensor.h) are stored after `tensors` when LibTorch has their dtype (BOOL,
// U8, I16, I64, C64); others are refused, naming the tensor.
void write_torch_bin(const std::filesystem::path& file, const NamedTensors& tensors, const OpaqueTensors& opaque = {});

// One entry of a torch.save'd dict of dicts {key: {name: Tensor}}: lmdeploy's calibration statistics
// (inputs_stats.pth: {"absmax": {module name: tensor}, ...}) are such a dict.
struct TensorTable {
  std::string key;
  NamedTensors tensors;  // in the file's order
};

struct TensorTables {
  std::vector<TensorTable> tables;      // the wanted keys the file has, in the file's order
  std::vector<std::string> other_keys;  // its other top-level keys, whose values are not examined
};

// The entries `wanted` of a torch.save archive whose top-level object is a dict with string keys; each
// wanted entry must be a dict {str: Tensor}. Values under other keys may be anything the unpickler
// builds (lmdeploy's `ratios` holds floats and None): they are only named in other_keys. A wanted key
// the file lacks is simply absent from `tables`; the caller decides whether it is needed. Throws
// CheckpointError naming the file and "<key>[<name>]" for a file that is not such an archive, a top-level
// object that is not a dict, a non-string key, a wanted value that is not a dict, or an entry of one
// that is not a tensor.
TensorTables read_torch_tensor_tables(const std::filesystem::path& file, const std::set<std::string>& wanted);

// Writes {key: {name: tensor}} as a torch.save archive (atomically), pickled as Python's torch.save
// pickles a dict of dicts of tensors, so that torch.load(weights_only=True) reads it. Dtypes as
// write_torch_bin's (opaque tensors aside). Refuses an empty or repeated key, or a name repeated within
// a table, naming it.
void write_torch_tensor_tables(const std::filesystem::path& file, const std::vector<TensorTable>& tables);

// Shards "<stem>-0000K-of-0000N.bin" plus "<stem>.bin.index.json" with the exact total_size; the
// index is written last (see write_safetensors_sharded).
ShardedWrite write_torch_bin_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                     std::uint64_t max_shard_bytes, const std::string& stem = "pytorch_model",
                                     const OpaqueTensors& opaque = {});

// The same archives streamed (tensor_stream.h): each shard's pickle, which needs only names, dtypes and
// shapes, is written when the shard opens, then each tensor's storage record as its bytes arrive.
// Dtypes in the safetensors spelling; those without a LibTorch storage are refused, naming the tensor.
std::unique_ptr<ShardedTensorStream> open_sharded_torch_bin_stream(const std::filesystem::path& dir,
                                                                   std::vector<PlannedTensor> tensors,
                                                                   std::uint64_t max_shard_bytes,
                                                                   const std::string& stem = "pytorch_model");

}  // namespace smoothcheck::checkpoint
