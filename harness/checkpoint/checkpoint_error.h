// The one exception type of checkpoint I/O. Every message names the file, the tensor when there is
// one, and the problem, so that a failure on a 13 GB sharded checkpoint says where to look without a
// debugger: "<file>: tensor 'model.norm.weight': data_offsets [0, 12] hold 12 bytes, shape needs 16".
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace smoothcheck::checkpoint {

class CheckpointError : public std::runtime_error {
 public:
  CheckpointError(const std::filesystem::path& file, const std::string& problem)
      : CheckpointError(file, std::string(), problem) {}
  CheckpointError(const std::filesystem::path& file, const std::string& tensor, const std::string& problem)
      : std::runtime_error(compose(file, tensor, problem)), file_(file), tensor_(tensor), problem_(problem) {}

  const std::filesystem::path& file() const { return file_; }
  const std::string& tensor() const { return tensor_; }  // empty when the problem is not one tensor's
  const std::string& problem() const { return problem_; }

 private:
  static std::string compose(const std::filesystem::path& file, const std::string& tensor,
                             const std::string& problem) {
    std::string m = file.string();
    if (!tensor.empty()) m += ": tensor '" + tensor + "'";
    return printable(m + ": " + problem);
  }

  // Names and values quoted from a hostile file may hold control bytes; a NUL would cut what() short
  // before the problem is said, so every byte below 0x20 (tab and newline aside) is shown as \xNN.
  static std::string printable(const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 || c == '\n' || c == '\t') {
        out += ch;
      } else {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }

  std::filesystem::path file_;
  std::string tensor_;
  std::string problem_;
};

}  // namespace smoothcheck::checkpoint
