#include "harness/checkpoint/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck {

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::filesystem::path& target) : target_(target) {
  const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  // A dot-prefixed name keeps the partial file out of globs such as *.safetensors.
  std::string pattern = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0) throw checkpoint::CheckpointError(target, "cannot create a temporary file beside it: " + errno_text());
  temp_ = buf.data();
  // mkstemp creates 0600; a checkpoint is shared data, so use the usual 0644 (minus umask).
  mode_t mask = ::umask(0);
  ::umask(mask);
  (void)::fchmod(fd_, 0644 & ~mask);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw checkpoint::CheckpointError(target_, "write failed: " + errno_text());
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
  start_writeback();
}

// Starts the disk writes of each whole window written so far without waiting for them: commit's fsync
// then waits only for the last of them, instead of the whole file being written after the last byte
// (at 1.1B, quantize's 1.23 GB export: about 2 s of disk time, now under its computation). Advice to
// the kernel: the fsync in commit() is what makes the file durable, whatever happens here.
void AtomicFileWriter::start_writeback() {
#if defined(__linux__)
  constexpr std::uint64_t kWindow = std::uint64_t(32) << 20;
  while (written_ - writeback_started_ >= kWindow) {
    (void)::sync_file_range(fd_, static_cast<off_t>(writeback_started_), static_cast<off_t>(kWindow),
                            SYNC_FILE_RANGE_WRITE);
    writeback_started_ += kWindow;
  }
#endif
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw checkpoint::CheckpointError(target_, "commit called twice");
  if (::fsync(fd_) != 0) throw checkpoint::CheckpointError(target_, "fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    throw checkpoint::CheckpointError(target_, "close failed: " + errno_text());
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp_.c_str());
    throw checkpoint::CheckpointError(target_, "rename from " + temp_.string() + " failed: " + why);
  }
}

}  // namespace smoothcheck
