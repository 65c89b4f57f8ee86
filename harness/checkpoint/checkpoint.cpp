// The Checkpoint adapters: each wraps one reader and turns its bytes into at::Tensors. This is the
// one translation unit of the readers that includes ATen, so the readers themselves stay fast to
// compile and testable without LibTorch.
#include "harness/checkpoint/checkpoint.h"

#include <map>
#include <mutex>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/llama2c_reader.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::checkpoint {

const char* to_string(CheckpointFormat f) {
  switch (f) {
    case CheckpointFormat::safetensors: return "safetensors";
    case CheckpointFormat::safetensors_sharded: return "sharded safetensors";
    case CheckpointFormat::torch_bin: return "torch.save .bin";
    case CheckpointFormat::torch_bin_sharded: return "sharded torch.save .bin";
    case CheckpointFormat::llama2c: return "llama2.c";
  }
  return "?";
}

namespace {

at::Tensor empty_for(const TensorInfo& info) {
  return at::empty(info.shape, at::TensorOptions().dtype(to_scalar_type(info.dtype)));
}

template <class Source>
at::Tensor read_into_tensor(const Source& src, const std::string& name, const TensorInfo& info) {
  at::Tensor t = empty_for(info);
  if (info.nbytes > 0) src.copy_to(name, t.data_ptr());
  return t;
}

MappedTensorBytes mapped_entry(const SafetensorsFile& f, const SafetensorsEntry& e) {
  return MappedTensorBytes{e.info, f.bytes(e), &f.mapping(), f.file_offset(e)};
}

// What tensor() says of a name the file holds only as an opaque entry.
[[noreturn]] void refuse_opaque(const std::filesystem::path& file, const SafetensorsOpaqueEntry& e) {
  throw CheckpointError(file, e.name,
                        "is stored as " + e.dtype + ", a dtype smoothcheck does not compute with (it reads F32, F16, "
                        "BF16, I8, I32, F64); exports carry such tensors over byte for byte");
}

class SafetensorsCheckpoint final : public Checkpoint {
 public:
  explicit SafetensorsCheckpoint(const std::filesystem::path& file) : file_(file), location_(file) {}
  CheckpointFormat format() const override { return CheckpointFormat::safetensors; }
  const std::filesystem::path& location() const override { return location_; }
  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> v;
    for (const auto& e : file_.entries()) v.push_back(e.name);
    return v;
  }
  bool contains(const std::string& name) const override { return file_.find(name) != nullptr; }
  TensorInfo info(const std::string& name) const override { return entry(name).info; }
  at::Tensor tensor(const std::string& name) const override { return read_into_tensor(file_, name, entry(name).info); }
  std::optional<MappedTensorBytes> mapped(const std::string& name) const override {
    return mapped_entry(file_, entry(name));
  }
  OpaqueTensors opaque_tensors() const override {
    OpaqueTensors v;
    for (const auto& e : file_.opaque_entries()) v.push_back(file_.opaque_tensor(e));
    return v;
  }

 private:
  const SafetensorsEntry& entry(const std::string& name) const {
    const auto* e = file_.find(name);
    if (e != nullptr) return *e;
    if (const auto* o = file_.find_opaque(name)) refuse_opaque(location_, *o);
    throw CheckpointError(location_, name, "no such tensor in this file");
  }
  SafetensorsFile file_;
  std::filesystem::path location_;
};

class ShardedSafetensorsCheckpoint final : public Checkpoint {
 public:
  explicit ShardedSafetensorsCheckpoint(const std::filesystem::path& index_json)
      : location_(index_json), index_(read_shard_index(index_json)) {
    // Every shard is mapped (and its header validated) now: mapping is cheap, and a bad shard
    // should fail at open, not halfway through a calibration run.
    for (const auto& shard : index_.shard_files())
      shards_.emplace(shard, SafetensorsFile(index_json.parent_path() / shard));
    for (const auto& [name, shard] : index_.weight_map) {
      const SafetensorsFile& f = shards_.at(shard);
      if (f.find(name) != nullptr)
        names_.push_back(name);
      else if (f.find_opaque(name) == nullptr)
        throw CheckpointError(index_json, name, "weight_map names shard '" + shard + "', which lacks the tensor");
    }
  }
  CheckpointFormat format() const override { return CheckpointFormat::safetensors_sharded; }
  const std::filesystem::path& location() const override { return location_; }
  std::vector<std::string> tensor_names() const override { return names_; }
  bool contains(const std::string& name) const override {
    auto it = index_.weight_map.find(name);
    return it != index_.weight_map.end() && shards_.at(it->second).find(name) != nullptr;
  }
  TensorInfo info(const std::string& name) const override { return entry(name).info; }
  at::Tensor tensor(const std::string& name) const override {
    return read_into_tensor(shard_of(name), name, entry(name).info);
  }
  std::optional<MappedTensorBytes> mapped(const std::string& name) const override {
    return mapped_entry(shard_of(name), entry(name));
  }
  OpaqueTensors opaque_tensors() const override {
    OpaqueTensors v;
    for (const auto& [name, shard] : index_.weight_map) {
      const SafetensorsFile& f = shards_.at(shard);
      if (const auto* o = f.find_opaque(name)) v.push_back(f.opaque_tensor(*o));
    }
    return v;
  }
  std::optional<std::uint64_t> declared_total_size() const override { return index_.total_size; }

 private:
  const SafetensorsFile& shard_of(const std::string& name) const {
    auto it = index_.weight_map.find(name);
    if (it == index_.weight_map.end()) throw CheckpointError(location_, name, "not in weight_map");
    return shards_.at(it->second);
  }
  const SafetensorsEntry& entry(const std::string& name) const {
    const SafetensorsFile& f = shard_of(name);
    if (const auto* e = f.find(name)) return *e;
    refuse_opaque(location_, *f.find_opaque(name));  // the constructor saw it in one list or the other
  }
  std::filesystem::path location_;
  ShardIndex index_;
  std::map<std::string, SafetensorsFile> shards_;
  std::vector<std::string> names_;  // weight_map order (sorted), computable tensors only
};

// Checks the dtype of a tensor that came out of a .bin and returns the caller's own copy (the
// loaded shard stays cached, so handing out views into it would let a caller edit the cache).
at::Tensor owned_copy(const std::filesystem::path& file, const std::string& name, const at::Tensor& t) {
  if (!from_scalar_type(t.scalar_type()))
    throw CheckpointError(file, name, std::string("unsupported dtype ") + c10::toString(t.scalar_type()) +
                                          " (smoothcheck reads F32, F16, BF16, I8, I32, F64)");
  return t.clone(at::MemoryFormat::Contiguous);
}

TensorInfo info_of(const std::filesystem::path& file, const std::string& name, const at::Tensor& t) {
  auto dtype = from_scalar_type(t.scalar_type());
  if (!dtype)
    throw CheckpointError(file, name, std::string("unsupported dtype ") + c10::toString(t.scalar_type()));
  return TensorInfo{*dtype, t.sizes().vec(), static_cast<std::uint64_t>(t.numel()) * t.element_size()};
}

std::map<std::string, at::Tensor> to_map(const std::filesystem::path& file, NamedTensors tensors) {
  std::map<std::string, at::Tensor> m;
  for (auto& nt : tensors)
    if (!m.emplace(nt.name, std::move(nt.tensor)).second)
      throw CheckpointError(file, nt.name, "the archive holds the name twice");
  return m;
}

class TorchBinCheckpoint final : public Checkpoint {
 public:
  explicit TorchBinCheckpoint(const std::filesystem::path& file)
      : location_(file), tensors_(to_map(file, read_torch_bin(file))) {}
  CheckpointFormat format() const override { return CheckpointFormat::torch_bin; }
  const std::filesystem::path& location() const override { return location_; }
  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> v;
    for (const auto& [k, _] : tensors_) v.push_back(k);
    return v;
  }
  bool contains(const std::string& name) const override { return tensors_.count(name) != 0; }
  TensorInfo info(const std::string& name) const override { return info_of(location_, name, get(name)); }
  at::Tensor tensor(const std::string& name) const override { return owned_copy(location_, name, get(name)); }

 private:
  const at::Tensor& get(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw CheckpointError(location_, name, "no such tensor in this file");
    return it->second;
  }
  std::filesystem::path location_;
  std::map<std::string, at::Tensor> tensors_;
};

class ShardedTorchBinCheckpoint final : public Checkpoint {
 public:
  explicit ShardedTorchBinCheckpoint(const std::filesystem::path& index_json)
      : location_(index_json), index_(read_shard_index(index_json)) {}
  CheckpointFormat format() const override { return CheckpointFormat::torch_bin_sharded; }
  const std::filesystem::path& location() const override { return location_; }
  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> v;
    for (const auto& [k, _] : index_.weight_map) v.push_back(k);
    return v;
  }
  bool contains(const std::string& name) const override { return index_.weight_map.count(name) != 0; }
  TensorInfo info(const std::string& name) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return info_of(shard_path(name), name, find_locked(name));
  }
  at::Tensor tensor(const std::string& name) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return owned_copy(shard_path(name), name, find_locked(name));
  }
  std::optional<std::uint64_t> declared_total_size() const override { return index_.total_size; }

 private:
  std::filesystem::path shard_path(const std::string& name) const {
    auto it = index_.weight_map.find(name);
    if (it == index_.weight_map.end()) throw CheckpointError(location_, name, "not in weight_map");
    return location_.parent_path() / it->second;
  }
  // One shard is kept loaded: reading tensors in weight_map order (the usual order) loads each
  // shard once, and memory stays at one shard rather than the whole model.
  const at::Tensor& find_locked(const std::string& name) const {
    const auto path = shard_path(name);
    if (path != cached_path_) {
      cached_.clear();
      cached_ = to_map(path, read_torch_bin(path));
      cached_path_ = path;
    }
    auto it = cached_.find(name);
    if (it == cached_.end())
      throw CheckpointError(location_, name, "weight_map names shard '" + path.filename().string() +
                                                 "', which lacks the tensor");
    return it->second;
  }
  std::filesystem::path location_;
  ShardIndex index_;
  mutable std::mutex mutex_;
  mutable std::filesystem::path cached_path_;
  mutable std::map<std::string, at::Tensor> cached_;
};

class Llama2cCheckpoint final : public Checkpoint {
 public:
  explicit Llama2cCheckpoint(const std::filesystem::path& file) : file_(file), location_(file) {}
  CheckpointFormat format() const override { return CheckpointFormat::llama2c; }
  const std::filesystem::path& location() const override { return location_; }
  std::vector<std::string> tensor_names() const override { return file_.tensor_names(); }
  bool contains(const std::string& name) const override { return file_.contains(name); }
  TensorInfo info(const std::string& name) const override { return file_.info(name); }
  at::Tensor tensor(const std::string& name) const override { return read_into_tensor(file_, name, file_.info(name)); }
  std::optional<LlamaConfig> embedded_config() const override { return llama_config_from_llama2c(file_.header()); }

 private:
  Llama2cFile file_;
  std::filesystem::path location_;
};

}  // namespace

namespace {

void require_present(const Checkpoint& ckpt, const std::string& name, const std::string& required_by) {
  if (!ckpt.contains(name)) throw CheckpointError(ckpt.location(), name, "required by " + required_by + " but absent");
}

void require_shape(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& stored,
                   const std::vector<std::int64_t>& shape, const std::string& required_by) {
  if (stored != shape)
    throw CheckpointError(ckpt.location(), name,
                          "has shape " + shape_string(stored) + " but " + required_by + " implies " +
                              shape_string(shape));
}

}  // namespace

at::Tensor tensor_of_shape(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                           const std::string& required_by) {
  require_present(ckpt, name, required_by);
  at::Tensor t = ckpt.tensor(name);
  require_shape(ckpt, name, t.sizes().vec(), shape, required_by);
  return t;
}

std::optional<MappedTensorBytes> mapped_of_shape(const Checkpoint& ckpt, const std::string& name,
                                                 const std::vector<std::int64_t>& shape,
                                                 const std::string& required_by) {
  require_present(ckpt, name, required_by);
  std::optional<MappedTensorBytes> m = ckpt.mapped(name);
  if (m) require_shape(ckpt, name, m->info.shape, shape, required_by);
  return m;
}

at::Tensor config_shaped_tensor(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                                c10::ScalarType compute, const std::string& required_by) {
  // The compute dtype whatever the stored one: f16/bf16 weights are exactly representable in it,
  // so only the arithmetic differs from an engine computing in the stored dtype.
  return tensor_of_shape(ckpt, name, shape, required_by).to(compute).contiguous();
}

std::unique_ptr<Checkpoint> open_safetensors(const std::filesystem::path& file) {
  return std::make_unique<SafetensorsCheckpoint>(file);
}
std::unique_ptr<Checkpoint> open_safetensors_index(const std::filesystem::path& index_json) {
  return std::make_unique<ShardedSafetensorsCheckpoint>(index_json);
}
std::unique_ptr<Checkpoint> open_torch_bin(const std::filesystem::path& file) {
  return std::make_unique<TorchBinCheckpoint>(file);
}
std::unique_ptr<Checkpoint> open_torch_bin_index(const std::filesystem::path& index_json) {
  return std::make_unique<ShardedTorchBinCheckpoint>(index_json);
}
std::unique_ptr<Checkpoint> open_llama2c(const std::filesystem::path& file) {
  return std::make_unique<Llama2cCheckpoint>(file);
}

}  // namespace smoothcheck::checkpoint
