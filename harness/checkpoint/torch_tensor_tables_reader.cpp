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
      check_tensor_within_storage(file, entry_name(key, name), t);
      table.tensors.push_back({name, t});
    }
    out.tables.push_back(std::move(table));
  }
  return out;
}

}  // namespace smoothcheck::checkpoint
