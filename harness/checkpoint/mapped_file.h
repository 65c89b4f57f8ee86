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

  // Drops this process's resident pages of [offset, offset + length) (those wholly inside it): after a
  // tensor has been copied out, its pages would otherwise count in RSS until the file is closed, so a
  // pass over a 2 GB checkpoint would hold 2 GB. The mapping is read-only and private, so nothing can
  // be lost: a later read faults the pages back in from the page cache.
  void release_pages(std::uint64_t offset, std::uint64_t length) const noexcept;

 private:
  void release() noexcept;

  std::filesystem::path path_;
  const std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace smoothcheck::checkpoint
