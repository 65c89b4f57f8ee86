// A whole file mapped read-only (PROT_READ, MAP_PRIVATE). Readers map rather than read so that a
// 13 GB shard costs page-cache, not heap, and so that the bytes cannot be written back by mistake:
// checkpoint inputs are never modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace smoothcheck::checkpoint {

class MappedFile {
 public:
  // Throws CheckpointError naming the file when it cannot be opened, is not a regular file, or
  // cannot be mapped. An empty file is valid and maps to size() == 0, data() == nullptr.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::uint8_t* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void release() noexcept;

  std::filesystem::path path_;
  const std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace smoothcheck::checkpoint
