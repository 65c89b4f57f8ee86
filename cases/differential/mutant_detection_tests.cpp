// The suite proves it can fail: every deliberately wrong kernel must be reported as incorrect (not as a
// kernel error, not as passed) by the same case tables and comparisons that pass the real kernels.
#include <gtest/gtest.h>

#include "cases/case_tables.h"
#include "cases/differential/mutant_backends.h"
#include "harness/case_runner.h"

namespace smoothcheck {
namespace {

class MutantIsCaught : public ::testing::TestWithParam<mutants::Mutant> {};

TEST_P(MutantIsCaught, ByItsFamilyTable) {
  const mutants::Mutant& m = GetParam();
  auto backend = m.make();
  Family family;
  for (const Family& f : cases::all_families())
    if (f.name == m.family) family = f;
  ASSERT_FALSE(family.name.empty()) << "no family " << m.family;
  RunOptions options;  // no repro files: these failures are expected
  int ran = 0;
  for (const auto& c : family.cases()) {
    if (!matches_filter(c->name(), m.case_filter)) continue;
    ++ran;
    CaseReport report = run_case(family, *c, *backend, options);
    ASSERT_NE(report.result.outcome, Outcome::kernel_error) << c->name() << ": " << report.result.reason;
    if (report.result.outcome == Outcome::incorrect) {
      std::cout << "[ caught   ] " << m.name << " by " << m.family << "/" << c->name() << ": "
                << report.result.failures.front() << "\n";
      SUCCEED();
      return;
    }
  }
  FAIL() << "mutant " << m.name << " passed all " << ran << " cases of " << m.family << " matching '" << m.case_filter << "'";
}

INSTANTIATE_TEST_SUITE_P(Mutants, MutantIsCaught, ::testing::ValuesIn(mutants::all_mutants()),
                         [](const ::testing::TestParamInfo<mutants::Mutant>& info) { return info.param.name; });

TEST(Mutants, AtLeastEightDistinctBugs) { EXPECT_GE(mutants::all_mutants().size(), 8u); }

}  // namespace
}  // namespace smoothcheck
