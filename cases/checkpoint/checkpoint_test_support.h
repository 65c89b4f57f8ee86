// Shared helpers of the checkpoint cases: where the shared checkpoints are, scratch directories,
// and fingerprints that prove a reader left its inputs untouched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "little_endian_bytes.h"

namespace smoothcheck::testing {

// $SMOOTHCHECK_SHARED_DIR, else the compile-time default (${PROJECT_SOURCE_DIR}/../shared), when it
// holds checkpoints/stories260K; nullopt otherwise, with the reason in *why.
std::optional<std::filesystem::path> find_shared_dir(std::string* why);
bool running_in_ci();  // CI=true: a missing shared folder is a failure, not a skip

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Size, mtime and a content hash of every regular file under `root` (or of `root` itself).
struct Fingerprint {
  std::vector<std::string> lines;
  bool operator==(const Fingerprint& o) const { return lines == o.lines; }
};
Fingerprint fingerprint(const std::filesystem::path& root);

void write_bytes(const std::filesystem::path& file, const std::string& bytes);
// A text file of whitespace-separated numbers, one row per non-empty line (reference_logits.txt, and
// what `smoothcheck forward` prints).
std::vector<std::vector<float>> read_number_rows(const std::filesystem::path& file);
// A safetensors file image: u64 LE header length, the header text, then data_bytes zero bytes.
std::string safetensors_image(const std::string& header, std::size_t data_bytes);
// Names of the files in dir whose name starts with '.' (leftover temporaries of an atomic write).
std::vector<std::string> hidden_files(const std::filesystem::path& dir);

}  // namespace smoothcheck::testing

// Binds `dir` to the shared folder, or skips the test (fails it when CI=true) with the reason.
#define SMOOTHCHECK_REQUIRE_SHARED_DIR(dir)                                      \
  std::string dir##_why;                                                         \
  const auto dir##_found = ::smoothcheck::testing::find_shared_dir(&dir##_why);  \
  if (!dir##_found) {                                                            \
    if (::smoothcheck::testing::running_in_ci()) FAIL() << dir##_why;            \
    GTEST_SKIP() << dir##_why;                                                   \
  }                                                                              \
  const std::filesystem::path dir = *dir##_found
