// `smoothcheck forward` against llama2.c's known answer (shared/checkpoints/stories260K/
// reference_logits.txt, from upstream run.c), run as a user runs it: the command on each stored layout,
// its printed logits compared with the file. And its refusals: a malformed token list, an id outside
// the vocabulary (exit 2, a message, no output file).
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"

namespace smoothcheck {
namespace {

namespace fs = std::filesystem;

const char* kTokens = "1 403 407 261 378 431 259 500 305 270 290 300";

// Runs the command line with stderr captured into `err`; returns the exit status.
int run(const std::string& args, const fs::path& err) {
  const std::string cmd = std::string("'") + SMOOTHCHECK_EXE + "' " + args + " 2>'" + err.string() + "' >/dev/null";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& file) {
  std::string s;
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return s;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

struct Layout {
  const char* dir;
  double tolerance;  // the README's: 1e-4 for the float32 layouts, 0.25 for the float16 weights
};
void PrintTo(const Layout& l, std::ostream* os) { *os << l.dir; }

class ForwardCommand : public ::testing::TestWithParam<Layout> {};

TEST_P(ForwardCommand, PrintsRunCsLogits) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path root = shared / "checkpoints/stories260K";
  testing::ScratchDir dir;
  const fs::path out = dir / "logits.txt";
  ASSERT_EQ(run("forward '" + (root / GetParam().dir).string() + "' --tokens '" + kTokens + "' --out '" + out.string() + "'",
                dir / "err.txt"),
            0)
      << slurp(dir / "err.txt");
  const auto got = testing::read_number_rows(out);
  const auto want = testing::read_number_rows(root / "reference_logits.txt");
  ASSERT_EQ(got.size(), want.size());
  double worst = 0;
  for (std::size_t p = 0; p < want.size(); ++p) {
    ASSERT_EQ(got[p].size(), want[p].size()) << "position " << p;
    for (std::size_t v = 0; v < want[p].size(); ++v) worst = std::max(worst, std::fabs(double(got[p][v]) - want[p][v]));
  }
  // The printed six decimals add at most 5e-7 to the forward pass's own difference.
  EXPECT_LE(worst, GetParam().tolerance) << "max |logit - run.c| over " << want.size() << " positions";
}

INSTANTIATE_TEST_SUITE_P(Stories260K, ForwardCommand,
                         ::testing::Values(Layout{"llama2c", 1e-4}, Layout{"hf", 1e-4}, Layout{"hf-sharded-bin", 0.25}),
                         [](const auto& info) {
                           std::string n = info.param.dir;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(ForwardCommandRefusals, BadTokensExitTwoWithoutOutput) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = shared / "checkpoints/stories260K/hf";
  testing::ScratchDir dir;
  const fs::path out = dir / "logits.txt";
  EXPECT_EQ(run("forward '" + model.string() + "' --tokens '1 x 3' --out '" + out.string() + "'", dir / "err.txt"), 2);
  EXPECT_NE(slurp(dir / "err.txt").find("--tokens takes an integer, not 'x'"), std::string::npos) << slurp(dir / "err.txt");
  EXPECT_EQ(run("forward '" + model.string() + "' --tokens '1 512' --out '" + out.string() + "'", dir / "err.txt"), 2);
  EXPECT_NE(slurp(dir / "err.txt").find("512"), std::string::npos) << slurp(dir / "err.txt");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty());
}

}  // namespace
}  // namespace smoothcheck
