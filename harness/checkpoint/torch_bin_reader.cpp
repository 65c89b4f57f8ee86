// read_torch_bin (torch_bin.h): the flat dict {name: tensor} of a pytorch_model.bin or one of its shards.
#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_archive_unpickle.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {

NamedTensors read_torch_bin(const std::filesystem::path& file) {
  const c10::IValue root = unpickle_torch_archive(file);
  if (!root.isGenericDict())
    throw CheckpointError(file, std::string("the saved object is a ") + root.tagKind() + ", not a dict of tensors");

  NamedTensors out;
  for (const auto& kv : root.toGenericDict()) {
    if (!kv.key().isString())
      throw CheckpointError(file, std::string("a dict key is a ") + kv.key().tagKind() + ", not a string");
    const std::string name = kv.key().toStringRef();
    if (!kv.value().isTensor())
      throw CheckpointError(file, name, std::string("the value is a ") + kv.value().tagKind() + ", not a tensor");
    check_tensor_within_storage(file, name, kv.value().toTensor());
    out.push_back({name, kv.value().toTensor()});
  }
  return out;
}

}  // namespace smoothcheck::checkpoint
