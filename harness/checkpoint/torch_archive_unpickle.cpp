#include "harness/checkpoint/torch_archive_unpickle.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/mapped_file.h"
#include "harness/checkpoint/pickle_scan.h"

namespace smoothcheck::checkpoint {

namespace {

// The archive as LibTorch's zip reader (miniz) sees it, with every read clamped to the file.
// torch::jit::pickle_load wraps its bytes in a MemoryReadAdapter that copies whatever range miniz
// asks for, and a damaged central directory makes miniz ask for bytes past the end: a heap
// over-read found by fuzz_bin_loader (cases/fuzz/corpus/bin_loader/crash-libtorch-zip-central-
// directory-overread). A short read instead makes miniz, and so LibTorch, fail with an error.
class ClampedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit ClampedReadAdapter(const MappedFile& file) : file_(file) {}
  size_t size() const override { return file_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= file_.size()) return 0;
    n = static_cast<size_t>(std::min<uint64_t>(n, file_.size() - pos));
    if (n > 0) std::memcpy(buf, file_.data() + pos, n);
    return n;
  }

 private:
  const MappedFile& file_;
};

// What pickle_load does (LibTorch 1.13, torch/csrc/jit/serialization/pickle.cpp), over the adapter
// above. Tensor data is copied into storages LibTorch allocates, so the mapping may go afterwards.
// data.pkl's lengths are checked (pickle_scan.h) before the unpickler, which trusts them, runs.
c10::IValue unpickle_archive(const MappedFile& file) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<ClampedReadAdapter>(file));
  {
    // The record's size is the zip entry's, checked by miniz against the archive, so this copy is
    // bounded by the file itself.
    const auto [pickle, size] = reader.getRecord("data.pkl");
    check_pickle_lengths(static_cast<const std::uint8_t*>(pickle.get()), size, file.path());
  }
  return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"",
                                           /*type_resolver=*/c10::nullopt, /*obj_loader=*/c10::nullopt,
                                           /*device=*/c10::nullopt, reader);
}

// Sizes, strides and offset as the pickle claimed them; an overflow in the arithmetic counts as outside.
bool within_storage(const at::Tensor& t) {
  if (t.numel() == 0) return true;
  if (!t.has_storage()) return false;
  // LibTorch sizes a storage by the pickle's claim and points it at the record's bytes: an empty record
  // leaves a null data pointer behind a storage that claims bytes (a fuzzed file crashed clone() so).
  if (t.storage().data() == nullptr) return false;
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

bool starts_like_zip_archive(const std::uint8_t* bytes, std::size_t size) {
  return size >= 4 && std::memcmp(bytes, "PK\x03\x04", 4) == 0;
}

void check_tensor_within_storage(const std::filesystem::path& file, const std::string& name, const at::Tensor& t) {
  if (!within_storage(t))
    throw CheckpointError(file, name,
                          "its sizes " + c10::str(t.sizes()) + " and strides " + c10::str(t.strides()) + " reach past its " +
                              std::to_string(t.has_storage() ? t.storage().nbytes() : 0) + "-byte storage record: a damaged file");
}

c10::IValue unpickle_torch_archive(const std::filesystem::path& file) {
  const MappedFile archive(file);
  if (!starts_like_zip_archive(archive.data(), archive.size()))
    throw CheckpointError(file, "not a zip archive: only the torch.save format of torch >= 1.6 is read");
  try {
    return unpickle_archive(archive);
  } catch (const CheckpointError&) {
    throw;  // the pickle scan's own, already naming the file and the problem
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
}

}  // namespace smoothcheck::checkpoint
