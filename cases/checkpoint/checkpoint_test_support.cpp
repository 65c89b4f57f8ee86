#include "checkpoint_test_support.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace smoothcheck::testing {

namespace fs = std::filesystem;

std::optional<fs::path> find_shared_dir(std::string* why) {
  fs::path dir;
  if (const char* env = std::getenv("SMOOTHCHECK_SHARED_DIR"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
#ifdef SMOOTHCHECK_SHARED_DIR
    dir = SMOOTHCHECK_SHARED_DIR;
#endif
  }
  std::error_code ec;
  if (!dir.empty() && fs::is_directory(dir / "checkpoints" / "stories260K", ec)) return dir;
  *why = "shared checkpoints not found: " + (dir.empty() ? std::string("no shared dir configured") : (dir / "checkpoints" / "stories260K").string()) +
         " is missing (set SMOOTHCHECK_SHARED_DIR)";
  return std::nullopt;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

ScratchDir::ScratchDir() {
  std::string pattern = (fs::temp_directory_path() / "smoothcheck-ckpt-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {
std::string describe(const fs::path& file) {
  // One read and libstdc++'s own hash: the hostile rows fingerprint a sparse file of ~100 MB twice, and a
  // byte-by-byte read and hash in the test's code took 20 s of the asan run's test code at -O0.
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error("cannot read " + file.string());
  const std::size_t h = std::hash<std::string_view>{}(bytes);
  const auto mtime = fs::last_write_time(file).time_since_epoch().count();
  return file.string() + " size=" + std::to_string(bytes.size()) + " mtime=" + std::to_string(mtime) +
         " hash=" + std::to_string(h);
}
}  // namespace

Fingerprint fingerprint(const fs::path& root) {
  Fingerprint f;
  if (fs::is_regular_file(root)) {
    f.lines.push_back(describe(root));
    return f;
  }
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) f.lines.push_back(describe(e.path()));
  std::sort(f.lines.begin(), f.lines.end());
  return f;
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::string safetensors_image(const std::string& header, std::size_t data_bytes) {
  return u64_le(header.size()) + header + std::string(data_bytes, '\0');
}

std::vector<std::string> hidden_files(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().front() == '.') v.push_back(e.path().filename().string());
  return v;
}

std::vector<std::vector<float>> read_number_rows(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<std::vector<float>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream ls(line);
    std::vector<float> row;
    float v;
    while (ls >> v) row.push_back(v);
    if (!ls.eof()) throw std::runtime_error(file.string() + ": a line holds something other than numbers");
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace smoothcheck::testing
