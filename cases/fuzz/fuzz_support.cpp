#include "fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::fuzz {

int run_guarded(const char* target, FuzzFunction fn, const std::uint8_t* data, std::size_t size) {
  try {
    fn(data, size);
  } catch (const checkpoint::CheckpointError& e) {
    // A refusal is the right answer to a bad input, provided it says where and what.
    fuzz_require(!e.file().empty(), std::string(target) + ": CheckpointError without a file: " + e.what());
    fuzz_require(!e.problem().empty(), std::string(target) + ": CheckpointError without a problem: " + e.what());
  }
  return 0;
}

void invariant_broken(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

MemoryFile::MemoryFile() {
  fd_ = ::memfd_create("smoothcheck-fuzz-input", MFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() {
  if (fd_ >= 0) ::close(fd_);
}

const std::filesystem::path& MemoryFile::rewrite(const std::uint8_t* data, std::size_t size) {
  if (::ftruncate(fd_, 0) != 0) throw std::runtime_error(std::string("ftruncate: ") + std::strerror(errno));
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) throw std::runtime_error(std::string("pwrite: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return path_;
}

namespace {

struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "smoothcheck-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::vector<RegisteredTarget>& registry() {
  static std::vector<RegisteredTarget> targets;
  return targets;
}

}  // namespace

const std::filesystem::path& process_scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

void write_file(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + file.string());
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + file.string());
}

bool register_target(const char* name, FuzzFunction fn) {
  registry().push_back({name, fn});
  return true;
}

const std::vector<RegisteredTarget>& registered_targets() { return registry(); }

}  // namespace smoothcheck::fuzz
