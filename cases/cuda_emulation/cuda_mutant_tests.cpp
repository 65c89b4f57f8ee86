// Mutants of the CUDA source, each killed on the emulated backend by the check that exists for it
// (cases/cuda_emulation/CMakeLists.txt lists them: the text each changes, the family and cases that must
// catch it, and the check). The unmutated emulated backend passes the same cases (differential tests).
#include <gtest/gtest.h>

#include <cstdio>

#include "cuda_mutant_list.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"

namespace smoothcheck::cuda_emulation_cases {
namespace {

class CudaMutantIsKilled : public ::testing::TestWithParam<CudaMutant> {};

TEST_P(CudaMutantIsKilled, ByItsCheck) {
  const CudaMutant& m = GetParam();
  auto backend = m.make({});
  Family family;
  for (const Family& f : registered_families())
    if (f.name == m.family) family = f;
  ASSERT_FALSE(family.name.empty()) << "no family " << m.family;
  RunOptions options;
  int ran = 0;
  std::string other_failures;
  for (const auto& c : family.cases()) {
    if (!matches_filter(c->name(), m.filter) || c->work() > (int64_t(1) << 24)) continue;
    ++ran;
    const CaseReport report = run_case(family, *c, *backend, options);
    if (report.result.outcome != Outcome::incorrect && report.result.outcome != Outcome::kernel_error) continue;
    std::string text = report.result.reason;
    for (const std::string& f : report.result.failures) text += (text.empty() ? "" : "\n") + f;
    if (text.find(m.expect) != std::string::npos) {
      std::printf("[ killed   ] %s by %s/%s: %s\n", m.name, m.family, c->name().c_str(),
                  text.substr(0, text.find('\n', 1)).c_str());
      return;
    }
    other_failures += "\n  " + c->name() + ": " + text;
  }
  FAIL() << "mutant " << m.name << " survived " << ran << " cases of " << m.family << " matching '" << m.filter
         << "' (no failure naming '" << m.expect << "')" << other_failures;
}

INSTANTIATE_TEST_SUITE_P(CudaSource, CudaMutantIsKilled, ::testing::ValuesIn(cuda_mutants()),
                         [](const ::testing::TestParamInfo<CudaMutant>& i) { return std::string(i.param.name); });

TEST(CudaMutants, AtLeastEight) { EXPECT_GE(cuda_mutants().size(), 8u); }

}  // namespace
}  // namespace smoothcheck::cuda_emulation_cases
