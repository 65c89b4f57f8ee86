#include <cstring>
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {

NamedTensors read_torch_bin(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CheckpointError(file, "cannot open");
  // pickle_load takes the whole archive in memory; a shard is read once and its tensors are then
  // views into the storages LibTorch allocated for it.
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK\x03\x04", 4) != 0)
    throw CheckpointError(file, "not a zip archive: only the torch.save format of torch >= 1.6 is read");

  c10::IValue root;
  try {
    root = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    // c10::Error messages carry a C++ backtrace; its first line is the useful part.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    // LibTorch 1.13 turns collections.OrderedDict into None (it expects one only as a tensor's
    // backward hooks), then fails to fill that "dict": say what the user can do about it.
    const bool ordered_dict = what.find("Expected GenericDict but got None") != std::string::npos;
    throw CheckpointError(file, "LibTorch cannot unpickle this torch.save archive (" + what + ")" +
                                    (ordered_dict ? std::string("; it holds a top-level collections.OrderedDict, as "
                                                                "torch.save(model.state_dict()) writes, which LibTorch "
                                                                "1.13 cannot read: save dict(state_dict) instead")
                                                  : std::string()));
  }
  if (!root.isGenericDict())
    throw CheckpointError(file, std::string("the saved object is a ") + root.tagKind() + ", not a dict of tensors");

  NamedTensors out;
  for (const auto& kv : root.toGenericDict()) {
    if (!kv.key().isString())
      throw CheckpointError(file, std::string("a dict key is a ") + kv.key().tagKind() + ", not a string");
    const std::string name = kv.key().toStringRef();
    if (!kv.value().isTensor())
      throw CheckpointError(file, name, std::string("the value is a ") + kv.value().tagKind() + ", not a tensor");
    out.push_back({name, kv.value().toTensor()});
  }
  return out;
}

}  // namespace smoothcheck::checkpoint
