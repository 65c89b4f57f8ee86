// Regression tests of the fuzz targets: every committed corpus file (the seeds and each finding's
// reproducer, crash-*) replayed through its target in the ordinary build, and under ASan/UBSan in the
// sanitizer preset. A target whose corpus folder is empty fails: a replay of nothing proves nothing.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <gtest/gtest.h>

#include "fuzz_support.h"
#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::fuzz {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<fs::path> corpus_files(const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(SMOOTHCHECK_FUZZ_CORPUS_DIR) / target;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> target_names() {
  std::vector<std::string> names;
  for (const auto& t : registered_targets()) names.push_back(t.name);
  return names;
}

class CorpusReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusReplay, EveryCommittedInputIsParsedOrRefusedByName) {
  const auto& targets = registered_targets();
  const auto it = std::find_if(targets.begin(), targets.end(), [&](const auto& t) { return t.name == GetParam(); });
  ASSERT_NE(it, targets.end());
  const auto files = corpus_files(GetParam());
  ASSERT_FALSE(files.empty()) << "no corpus under " << SMOOTHCHECK_FUZZ_CORPUS_DIR << "/" << GetParam()
                              << " (scripts/fuzz.sh corpus writes the seeds)";
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.string());
    const std::string bytes = read_bytes(f);
    // run_guarded aborts on a broken invariant; any exception other than CheckpointError escapes here.
    EXPECT_NO_THROW(run_guarded(GetParam().c_str(), it->fn, reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                bytes.size()));
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplay, ::testing::ValuesIn(target_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(CorpusReplay, EveryParserHasATarget) {
  std::vector<std::string> names = target_names();
  std::sort(names.begin(), names.end());
  const std::vector<std::string> expected = {"bin_loader", "calibration_stats", "llama2c",
                                             "llama_config", "safetensors", "shard_index"};
  EXPECT_EQ(names, expected);
}

// The guard must be able to fail: the two kinds of finding a parser can produce without a sanitizer.
void throws_out_of_range(const std::uint8_t*, std::size_t) { throw std::out_of_range("json.at(\"shape\")"); }
void breaks_an_invariant(const std::uint8_t*, std::size_t) { fuzz_require(false, "entry lies outside the file"); }
void refuses_without_naming_the_file(const std::uint8_t*, std::size_t) {
  throw checkpoint::CheckpointError("", "bad header");
}
void refuses_properly(const std::uint8_t*, std::size_t) { throw checkpoint::CheckpointError("f", "bad header"); }

TEST(CorpusReplayCanFail, AnExceptionOtherThanCheckpointErrorEscapes) {
  EXPECT_THROW(run_guarded("mutant", throws_out_of_range, nullptr, 0), std::out_of_range);
}

TEST(CorpusReplayCanFail, ABrokenInvariantOrAnUnnamedRefusalAborts) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";  // LibTorch may have started threads
  EXPECT_DEATH(run_guarded("mutant", breaks_an_invariant, nullptr, 0), "fuzz invariant broken: entry lies outside");
  EXPECT_DEATH(run_guarded("mutant", refuses_without_naming_the_file, nullptr, 0), "CheckpointError without a file");
  EXPECT_NO_THROW(run_guarded("mutant", refuses_properly, nullptr, 0));
}

}  // namespace
}  // namespace smoothcheck::fuzz
