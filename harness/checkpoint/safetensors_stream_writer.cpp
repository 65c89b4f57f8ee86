#include "harness/checkpoint/safetensors_stream_writer.h"

#include <set>

#include <nlohmann/json.hpp>

#include "harness/checkpoint/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/tensor_info.h"

namespace smoothcheck::checkpoint {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors stores little-endian data; this writer copies host memory as is"
#endif

namespace {

std::uint64_t bits_per_element(const std::string& dtype) {
  if (auto d = dtype_from_safetensors(dtype)) return 8 * dtype_size(*d);
  if (auto other = other_safetensors_dtype_bits(dtype)) return static_cast<std::uint64_t>(*other);
  return 0;
}

}  // namespace

void validate_planned_tensors(const std::filesystem::path& file, const std::vector<PlannedTensor>& tensors) {
  std::set<std::string> seen;
  for (const PlannedTensor& t : tensors) {
    if (t.name.empty()) throw CheckpointError(file, "cannot write a tensor with an empty name");
    if (t.name == "__metadata__") throw CheckpointError(file, t.name, "the name is reserved by the format");
    if (!seen.insert(t.name).second) throw CheckpointError(file, t.name, "the name is given twice");
    const std::uint64_t bits = bits_per_element(t.dtype);
    if (bits == 0) throw CheckpointError(file, t.name, "dtype '" + t.dtype + "' is not one the safetensors format defines");
    std::uint64_t total = bits;
    for (std::int64_t d : t.shape)
      if (d < 0 || __builtin_mul_overflow(total, static_cast<std::uint64_t>(d), &total))
        throw CheckpointError(file, t.name, "shape " + shape_string(t.shape) + " is negative or overflows 64 bits");
    if (total % 8 != 0 || total / 8 != t.nbytes)
      throw CheckpointError(file, t.name, t.dtype + " " + shape_string(t.shape) + " holds " + std::to_string(total) +
                                              " bits, but " + std::to_string(t.nbytes) + " bytes were planned");
  }
}

SafetensorsFileStream::SafetensorsFileStream(const std::filesystem::path& file, std::vector<PlannedTensor> tensors,
                                             const std::map<std::string, std::string>& metadata)
    : file_(file), tensors_(std::move(tensors)) {
  validate_planned_tensors(file_, tensors_);
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const PlannedTensor& t : tensors_) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  // The data section starts 8-byte aligned, padded with spaces as the upstream writer does.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  out_ = std::make_unique<AtomicFileWriter>(file_);
  out_->write(len, sizeof len);
  out_->write(text.data(), text.size());
}

SafetensorsFileStream::~SafetensorsFileStream() = default;

void SafetensorsFileStream::write(const std::string& name, const void* data, std::uint64_t nbytes) {
  if (next_ == tensors_.size())
    throw CheckpointError(file_, name, "written after every planned tensor of this file");
  const PlannedTensor& want = tensors_[next_];
  if (name != want.name)
    throw CheckpointError(file_, name, "written out of order: the header places '" + want.name + "' next");
  if (nbytes != want.nbytes)
    throw CheckpointError(file_, name, "has " + std::to_string(nbytes) + " bytes but the header declares " +
                                           std::to_string(want.nbytes));
  if (nbytes > 0) out_->write(data, nbytes);
  ++next_;
}

void SafetensorsFileStream::commit() {
  if (!complete())
    throw CheckpointError(file_, tensors_[next_].name, "was never written; the file is incomplete");
  out_->commit();
}

std::unique_ptr<ShardedTensorStream> open_sharded_safetensors_stream(const std::filesystem::path& dir,
                                                                     std::vector<PlannedTensor> tensors,
                                                                     std::uint64_t max_shard_bytes,
                                                                     const std::map<std::string, std::string>& metadata,
                                                                     const std::string& stem) {
  validate_planned_tensors(dir / (stem + ".safetensors.index.json"), tensors);
  auto with_format = metadata;
  with_format.emplace("format", "pt");  // transformers refuses safetensors files whose format is not "pt"
  return std::make_unique<ShardedTensorStream>(
      dir, stem, ".safetensors", std::move(tensors), max_shard_bytes,
      [with_format](const std::filesystem::path& file, std::vector<PlannedTensor> members) {
        return std::make_unique<SafetensorsFileStream>(file, std::move(members), with_format);
      });
}

}  // namespace smoothcheck::checkpoint
