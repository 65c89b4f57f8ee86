// safetensors writer: single file, or shards plus model.safetensors.index.json. Files are written
// atomically (atomic_file.h) and readable by the upstream library: header padded with spaces to a
// multiple of 8 bytes, tensors stored back to back in the given order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "harness/checkpoint/named_tensor.h"
#include "harness/checkpoint/opaque_tensor.h"

namespace smoothcheck::checkpoint {

// Throws CheckpointError for an empty or repeated name, the reserved name "__metadata__", or a
// dtype other than f32, f16, bf16, i8, i32, f64. `opaque` tensors (opaque_tensor.h) are stored after
// `tensors`, their bytes as given.
void write_safetensors(const std::filesystem::path& file, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {}, const OpaqueTensors& opaque = {});

// Splits the tensors into shards of at most max_shard_bytes each (plan_shards), named
// "<stem>-0000K-of-0000N.safetensors" in dir, and writes "<stem>.safetensors.index.json" whose
// metadata.total_size is the exact sum of tensor bytes. The index is written last, so a crash
// leaves no index pointing at missing shards.
// Every file written carries `metadata` plus {"format": "pt"} unless metadata sets "format".
ShardedWrite write_safetensors_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                       std::uint64_t max_shard_bytes,
                                       const std::map<std::string, std::string>& metadata = {},
                                       const std::string& stem = "model", const OpaqueTensors& opaque = {});

}  // namespace smoothcheck::checkpoint
