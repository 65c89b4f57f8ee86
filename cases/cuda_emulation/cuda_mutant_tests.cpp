// Mutants of the CUDA source, each killed on the emulated backend by the check that exists for it
// (cases/cuda_emulation/CMakeLists.txt lists them: the text each changes, the family and cases that must
// catch it, and the check). The unmutated emulated backend passes the same cases (differential tests).
// Compiled once and linked into every mutant's executable, whose backend is that mutant's.
#include <gtest/gtest.h>

#include <cstdio>

#include "cases/cuda_emulation/cuda_mutant.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"
#include "kernels/cuda/cuda_backend.h"

namespace smoothcheck::kernels {
// The mutant's backend: make_cuda_backend as emulated_names.h renames it under SC_EMULATION_TAG mutant.
std::unique_ptr<Backend> make_cuda_backend_mutant(const CudaBackendOptions& options);
}  // namespace smoothcheck::kernels

namespace smoothcheck::cuda_emulation_cases {
namespace {

class CudaMutantIsKilled : public ::testing::TestWithParam<CudaMutant> {};

TEST_P(CudaMutantIsKilled, ByItsCheck) {
  const CudaMutant& m = GetParam();
  auto backend = kernels::make_cuda_backend_mutant({});
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

// One value, this executable's mutant: the test keeps the name CudaSource/CudaMutantIsKilled.ByItsCheck/NAME.
INSTANTIATE_TEST_SUITE_P(CudaSource, CudaMutantIsKilled, ::testing::Values(this_cuda_mutant()),
                         [](const ::testing::TestParamInfo<CudaMutant>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace smoothcheck::cuda_emulation_cases
