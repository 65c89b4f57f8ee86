// PyTorch `torch.save` checkpoints (the zip format of torch >= 1.6): pytorch_model.bin and the shards
// of pytorch_model.bin.index.json. Reading goes through LibTorch's own unpickler
// (torch::jit::pickle_load); writing emits the same pickle that Python's torch.save writes for a
// plain dict of tensors, so that torch.load reads it even with weights_only=True.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "harness/checkpoint/named_tensor.h"

namespace smoothcheck::checkpoint {

// Every tensor of a torch.save archive whose top-level object is a dict {str: Tensor}, in the
// file's order, with the dtypes stored. Throws CheckpointError naming the file for a file that is
// not a zip archive (the pre-1.6 format is not read), an archive LibTorch cannot unpickle, or a
// top-level object that is not such a dict. Tensors may share storage (tied weights) and keep the
// strides they were saved with.
NamedTensors read_torch_bin(const std::filesystem::path& file);

// Writes `tensors` as a torch.save archive (atomically). Each tensor is stored as its own contiguous
// CPU copy. Dtypes: f32, f16, bf16, i8, i32, f64 (others refused, as for safetensors).
void write_torch_bin(const std::filesystem::path& file, const NamedTensors& tensors);

// Shards "<stem>-0000K-of-0000N.bin" plus "<stem>.bin.index.json" with the exact total_size; the
// index is written last (see write_safetensors_sharded).
ShardedWrite write_torch_bin_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                     std::uint64_t max_shard_bytes, const std::string& stem = "pytorch_model");

}  // namespace smoothcheck::checkpoint
