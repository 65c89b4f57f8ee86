// safetensors reader (https://github.com/huggingface/safetensors, "Format"): u64 LE header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the data section, offsets relative to its start.
//
// The whole header is validated when the file is opened, before any tensor byte is looked at, so
// that a truncated or hostile file fails with one clear CheckpointError rather than a wild read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/mapped_file.h"
#include "harness/checkpoint/opaque_tensor.h"
#include "harness/checkpoint/tensor_info.h"

namespace smoothcheck::checkpoint {

struct SafetensorsEntry {
  std::string name;
  TensorInfo info;
  std::uint64_t begin = 0;  // byte range in the data section
  std::uint64_t end = 0;
};

// An entry in one of the format's other dtypes (opaque_tensor.h), validated the same way.
struct SafetensorsOpaqueEntry {
  std::string name;
  std::string dtype;  // the format's spelling
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// Headers beyond this are refused before being read: the largest real headers (hundreds of
// thousands of tensors) are a few MB; the upstream library caps at 100 MB as well.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;
// {} -> {name: {}} -> shape: [] is three levels; one more would be malformed.
inline constexpr int kMaxSafetensorsHeaderDepth = 3;

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // sorted by name
  const SafetensorsEntry* find(const std::string& name) const;               // nullptr when absent
  // Entries smoothcheck does not compute with (not in entries(), never returned by find()), sorted by name.
  const std::vector<SafetensorsOpaqueEntry>& opaque_entries() const { return opaque_; }
  const SafetensorsOpaqueEntry* find_opaque(const std::string& name) const;  // nullptr when absent
  OpaqueTensor opaque_tensor(const SafetensorsOpaqueEntry& e) const;         // a copy of its bytes
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The stored bytes of one tensor (little-endian, row-major, possibly unaligned: copy them).
  const std::uint8_t* bytes(const SafetensorsEntry& e) const { return file_.data() + data_start_ + e.begin; }
  // Where bytes(e) lies in the mapped file, for releasing its pages once read.
  const MappedFile& mapping() const { return file_; }
  std::uint64_t file_offset(const SafetensorsEntry& e) const { return data_start_ + e.begin; }
  // Copies the named tensor's bytes to dst (entry.info.nbytes bytes); throws when absent.
  void copy_to(const std::string& name, void* dst) const;

 private:
  MappedFile file_;
  std::uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::vector<SafetensorsOpaqueEntry> opaque_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace smoothcheck::checkpoint
