// Writes a file so that readers see either the old file or the complete new one, never a torn
// write: the bytes go to a temporary file in the target's directory (same filesystem, so the final
// rename(2) is atomic), are fsync'ed, then renamed over the target. An uncommitted writer removes
// its temporary file, so a failed export leaves nothing behind. Large files start going to disk while
// they are being written (sync_file_range), so that the fsync does not wait for all of them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace smoothcheck {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::filesystem::path& target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t size);
  void commit();  // fsync + rename; after this the writer is inert

  const std::filesystem::path& target() const { return target_; }

 private:
  void start_writeback();

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  std::uint64_t writeback_started_ = 0;  // bytes [0, this) are being written to disk already
};

}  // namespace smoothcheck
