#include "harness/checkpoint/safetensors_writer.h"

#include <set>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "harness/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::checkpoint {

namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors stores little-endian data; this writer copies host memory as is"
#endif

struct Prepared {
  std::string name;
  DType dtype;
  at::Tensor data;  // contiguous, CPU
  std::uint64_t nbytes;
};

std::vector<Prepared> prepare(const std::filesystem::path& file, const NamedTensors& tensors) {
  std::vector<Prepared> out;
  std::set<std::string> seen;
  for (const auto& nt : tensors) {
    if (nt.name.empty()) throw CheckpointError(file, "cannot write a tensor with an empty name");
    if (nt.name == "__metadata__") throw CheckpointError(file, nt.name, "the name is reserved by the format");
    if (!seen.insert(nt.name).second) throw CheckpointError(file, nt.name, "the name is given twice");
    if (!nt.tensor.defined()) throw CheckpointError(file, nt.name, "the tensor is undefined");
    auto dtype = from_scalar_type(nt.tensor.scalar_type());
    if (!dtype)
      throw CheckpointError(file, nt.name, std::string("unsupported dtype ") + c10::toString(nt.tensor.scalar_type()) +
                                               " (smoothcheck writes F32, F16, BF16, I8, I32, F64)");
    at::Tensor t = nt.tensor.to(at::kCPU).contiguous();
    out.push_back({nt.name, *dtype, t, static_cast<std::uint64_t>(t.numel()) * dtype_size(*dtype)});
  }
  return out;
}

void write_prepared(const std::filesystem::path& file, const std::vector<const Prepared*>& tensors,
                    const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const Prepared* p : tensors) {
    header[p->name] = {{"dtype", safetensors_name(p->dtype)},
                       {"shape", p->data.sizes().vec()},
                       {"data_offsets", {offset, offset + p->nbytes}}};
    offset += p->nbytes;
  }
  std::string text = header.dump();
  // The data section starts 8-byte aligned, padded with spaces as the upstream writer does.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));

  AtomicFileWriter out(file);
  out.write(len, sizeof len);
  out.write(text.data(), text.size());
  for (const Prepared* p : tensors)
    if (p->nbytes > 0) out.write(p->data.data_ptr(), p->nbytes);
  out.commit();
}

}  // namespace

void write_safetensors(const std::filesystem::path& file, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const auto prepared = prepare(file, tensors);
  std::vector<const Prepared*> all;
  for (const auto& p : prepared) all.push_back(&p);
  auto with_format = metadata;
  with_format.emplace("format", "pt");  // transformers refuses safetensors files whose format is not "pt"
  write_prepared(file, all, with_format);
}

ShardedWrite write_safetensors_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                       std::uint64_t max_shard_bytes,
                                       const std::map<std::string, std::string>& metadata, const std::string& stem) {
  ShardedWrite result;
  result.index_file = dir / (stem + ".safetensors.index.json");
  if (max_shard_bytes == 0) throw CheckpointError(result.index_file, "max shard size must be positive");
  const auto prepared = prepare(result.index_file, tensors);
  std::vector<std::uint64_t> sizes;
  for (const auto& p : prepared) sizes.push_back(p.nbytes);
  const auto plan = plan_shards(sizes, max_shard_bytes);

  auto shard_metadata = metadata;
  shard_metadata.emplace("format", "pt");  // as in write_safetensors
  ShardIndex index;
  index.total_size = 0;
  for (std::size_t k = 0; k < plan.size(); ++k) {
    const std::string name = shard_file_name(stem, ".safetensors", k + 1, plan.size());
    std::vector<const Prepared*> members;
    for (std::size_t i : plan[k]) {
      members.push_back(&prepared[i]);
      index.weight_map[prepared[i].name] = name;
      *index.total_size += prepared[i].nbytes;
    }
    write_prepared(dir / name, members, shard_metadata);
    result.shards.push_back(dir / name);
  }
  write_shard_index(result.index_file, index);
  result.total_size = *index.total_size;
  return result;
}

}  // namespace smoothcheck::checkpoint
