// read_torch_tensor_tables (torch_bin.h): a torch.save'd dict of dicts of tensors, the layout of
// lmdeploy's inputs_stats.pth (lmdeploy/lite/quantization/calibration.py, CalibrationContext.export).
#include <string>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_archive_unpickle.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {

namespace {

// How a value is named in an error: Python's spelling of the access, so that the user can look at it.
std::string entry_name(const std::string& key, const std::string& name) { return key + "[" + name + "]"; }

// Whether every element the tensor's sizes, strides and offset address lies inside its storage: the
// unpickler takes them from the pickle as they are, without holding them against the storage record's
// size, and a reader of the tensor would then read past the allocation.
bool within_storage(const at::Tensor& t) {
  if (t.numel() == 0) return true;
  if (t.storage_offset() < 0) return false;
  std::int64_t last = t.storage_offset();  // the furthest element addressed
  for (int64_t d = 0; d < t.dim(); ++d) {
    std::int64_t reach = 0;
    if (t.stride(d) < 0 || __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &reach) ||
        __builtin_add_overflow(last, reach, &last))
      return false;
  }
  std::int64_t bytes = 0;
  return !__builtin_mul_overflow(last + 1, static_cast<std::int64_t>(t.element_size()), &bytes) &&
         static_cast<std::uint64_t>(bytes) <= t.storage().nbytes();
}

}  // namespace

TensorTables read_torch_tensor_tables(const std::filesystem::path& file, const std::set<std::string>& wanted) {
  const c10::IValue root = unpickle_torch_archive(file);
  if (!root.isGenericDict())
    throw CheckpointError(file, std::string("the saved object is a ") + root.tagKind() +
                                    ", not a dict of dicts {key: {name: tensor}}");
  TensorTables out;
  for (const auto& kv : root.toGenericDict()) {
    if (!kv.key().isString())
      throw CheckpointError(file, std::string("a top-level key is a ") + kv.key().tagKind() + ", not a string");
    const std::string key = kv.key().toStringRef();
    if (!wanted.count(key)) {
      out.other_keys.push_back(key);
      continue;
    }
    if (!kv.value().isGenericDict())
      throw CheckpointError(file, key, std::string("is a ") + kv.value().tagKind() + ", not a dict {name: tensor}");
    TensorTable table{key, {}};
    for (const auto& entry : kv.value().toGenericDict()) {
      if (!entry.key().isString())
        throw CheckpointError(file, key, std::string("a key of this dict is a ") + entry.key().tagKind() + ", not a string");
      const std::string name = entry.key().toStringRef();
      if (!entry.value().isTensor())
        throw CheckpointError(file, entry_name(key, name),
                              std::string("is a ") + entry.value().tagKind() + ", not a tensor");
      const at::Tensor& t = entry.value().toTensor();
      if (!t.has_storage() || !within_storage(t))
        throw CheckpointError(file, entry_name(key, name),
                              "its sizes " + c10::str(t.sizes()) + " and strides " + c10::str(t.strides()) +
                                  " reach past its storage record: a damaged file");
      table.tensors.push_back({name, t});
    }
    out.tables.push_back(std::move(table));
  }
  return out;
}

}  // namespace smoothcheck::checkpoint
