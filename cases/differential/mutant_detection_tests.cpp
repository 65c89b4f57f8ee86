// The suite proves it can fail: every deliberately wrong kernel must be reported as incorrect (not as a
// kernel error, not as passed) by the same case tables and comparisons that pass the real kernels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "cases/differential/mutant_backends.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"

namespace smoothcheck {
namespace {

class MutantIsCaught : public ::testing::TestWithParam<mutants::Mutant> {};

// Caught means: some case of its family reports it incorrect with the check the mutant names among the
// failures (Mutant::caught_by). A case that fails it only through another check does not count, so a
// mutant cannot pass as "caught" by an unrelated or accidental failure.
TEST_P(MutantIsCaught, ByItsFamilyTable) {
  const mutants::Mutant& m = GetParam();
  ASSERT_FALSE(m.caught_by.empty()) << m.name << " names no check";
  auto backend = m.make();
  Family family;
  for (const Family& f : registered_families())
    if (f.name == m.family) family = f;
  ASSERT_FALSE(family.name.empty()) << "no family " << m.family;
  RunOptions options;  // no repro files: these failures are expected
  int ran = 0;
  std::string other_failure;
  for (const auto& c : family.cases()) {
    if (!matches_filter(c->name(), m.case_filter)) continue;
    ++ran;
    CaseReport report = run_case(family, *c, *backend, options);
    ASSERT_NE(report.result.outcome, Outcome::kernel_error) << c->name() << ": " << report.result.reason;
    if (report.result.outcome != Outcome::incorrect) continue;
    for (const std::string& failure : report.result.failures) {
      // "<check>: <tensor>: ...", for the NaN/Inf pattern "<check>: <tensor>[i] ...", and for the runner's
      // own checks "<check>: <tensor> was modified ..." (harness/differential/compare.h).
      const char after = failure.size() > m.caught_by.size() ? failure[m.caught_by.size()] : '\0';
      const bool names_check = failure.rfind(m.caught_by, 0) == 0 && (after == ':' || after == '[' || after == ' ');
      if (names_check) {
        std::cout << "[ caught   ] " << m.name << " by " << m.family << "/" << c->name() << ": " << failure << "\n";
        SUCCEED();
        return;
      }
    }
    if (other_failure.empty()) other_failure = c->name() + ": " + report.result.failures.front();
  }
  FAIL() << "mutant " << m.name << " was not caught by check '" << m.caught_by << "' in any of the " << ran
         << " cases of " << m.family << " matching '" << m.case_filter << "'"
         << (other_failure.empty() ? std::string(" (every case passed)") : "; other checks failed: " + other_failure);
}

INSTANTIATE_TEST_SUITE_P(Mutants, MutantIsCaught, ::testing::ValuesIn(mutants::all_mutants()),
                         [](const ::testing::TestParamInfo<mutants::Mutant>& info) { return info.param.name; });

// A failing case leaves a repro a kernel engineer can load: case.json with the parameters, failures and
// the command that reruns it, and .npy files of the inputs, the expected and the actual outputs.
TEST(Repro, FailingCaseWritesParametersAndTensors) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("smoothcheck-repro-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  mutants::Mutant m = mutants::all_mutants().front();  // half-away rounding, caught on midpoints
  auto backend = m.make();
  Family family;
  for (const Family& f : registered_families())
    if (f.name == m.family) family = f;
  RunOptions options;
  options.repro_dir = dir.string();
  CaseReport report;
  for (const auto& c : family.cases()) {
    if (!matches_filter(c->name(), m.case_filter)) continue;
    report = run_case(family, *c, *backend, options);
    if (report.result.outcome == Outcome::incorrect) break;
  }
  ASSERT_EQ(report.result.outcome, Outcome::incorrect);
  ASSERT_FALSE(report.repro_path.empty());
  std::ifstream in(fs::path(report.repro_path) / "case.json");
  ASSERT_TRUE(in) << report.repro_path;
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["case"], report.case_name);
  EXPECT_EQ(j["outcome"], "incorrect");
  EXPECT_FALSE(j["failures"].empty());
  EXPECT_NE(j["rerun"].get<std::string>().find(report.case_name), std::string::npos);
  for (const char* tensor : {"x", "expected_q", "actual_q", "expected_scale", "actual_scale"}) {
    ASSERT_TRUE(j["tensors"].contains(tensor)) << tensor;
    fs::path npy = fs::path(report.repro_path) / j["tensors"][tensor]["file"].get<std::string>();
    std::ifstream f(npy, std::ios::binary);
    char magic[6] = {};
    f.read(magic, 6);
    EXPECT_EQ(std::string(magic, 6), "\x93NUMPY") << npy;
  }
  fs::remove_all(dir);
}

// 26 kernel mutants at least (issue 12); the pipeline's mutants live elsewhere.
TEST(Mutants, AtLeast26DistinctKernelBugs) {
  const std::vector<mutants::Mutant> all = mutants::all_mutants();
  EXPECT_GE(all.size(), 26u);
  std::set<std::string> names;
  for (const mutants::Mutant& m : all) EXPECT_TRUE(names.insert(m.name).second) << "two mutants named " << m.name;
}

}  // namespace
}  // namespace smoothcheck
