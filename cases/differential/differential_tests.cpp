// Every kernel family's case table on each backend named by SMOOTHCHECK_TEST_BACKENDS, beside the
// float64 reference: one gtest per (family, backend). A backend that cannot run here is skipped with its
// reason (e.g. "no CUDA device"), never passed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/backends.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"
#include "kernels/cpu/cpu_backend.h"

#ifndef SMOOTHCHECK_TEST_BACKENDS
#error "SMOOTHCHECK_TEST_BACKENDS must name the backends, comma-separated"
#endif

namespace smoothcheck {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct FamilyOnBackend {
  std::string family;
  std::string backend;
};

std::vector<FamilyOnBackend> all_pairs() {
  std::vector<FamilyOnBackend> out;
  for (const std::string& backend : split(SMOOTHCHECK_TEST_BACKENDS))
    for (const Family& f : registered_families()) out.push_back({f.name, backend});
  return out;
}

// gtest prints a parameter with PrintTo; without it, ctest's test names carry the struct's raw bytes.
void PrintTo(const FamilyOnBackend& p, std::ostream* os) { *os << p.family << " on " << p.backend; }

// SMOOTHCHECK_MAX_CASE_WORK caps the cases run (the asan preset sets it): instrumented code runs the
// production sizes many times slower and reaches no code path there that the tables' small and tail
// shapes do not. Unset or 0: every case runs.
int64_t max_case_work_from_environment() {
  const char* text = std::getenv("SMOOTHCHECK_MAX_CASE_WORK");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < 0) throw std::invalid_argument(std::string("SMOOTHCHECK_MAX_CASE_WORK: not a count: ") + text);
  return value;
}

class Differential : public ::testing::TestWithParam<FamilyOnBackend> {};

TEST_P(Differential, EveryCaseMatchesTheReference) {
  const FamilyOnBackend& p = GetParam();
  auto backend = make_backend(p.backend);
  std::string why_not;
  if (!backend->available(&why_not)) GTEST_SKIP() << p.backend << " waived: " << why_not;
  Family family;
  for (const Family& f : registered_families())
    if (f.name == p.family) family = f;
  RunOptions options;
  options.repro_dir = "smoothcheck-repro";
  if (const int64_t cap = max_case_work_from_environment(); cap > 0) {
    options.max_work = cap;
    options.waive_large_reason = "production-size case: SMOOTHCHECK_MAX_CASE_WORK=" + std::to_string(cap) +
                                 " (the asan preset's cap); the ordinary build runs it";
  } else if (p.backend == "cuda-emulated") {
    // One fiber per CUDA thread and a check on every memory access: every small and odd shape runs,
    // the production shapes up to 2^22 elements or multiply-adds; the rest run on a real card
    // (scripts/gpu_run.sh) and, as the same arithmetic, on the CPU backend.
    options.max_work = int64_t(1) << 22;
    options.waive_large_reason = "production-size case: the CPU emulation of the CUDA source runs shapes up to 2^22 "
                                 "work units; scripts/gpu_run.sh runs it on a GPU";
  } else if (p.backend == "cpu-scalar" && kernels::cpu_supports_avx2()) {
    // The portable path is bit-identical to the AVX2 path (isa_agreement_tests); running the
    // production-size cases twice would double CI time for no new evidence.
    options.max_work = int64_t(1) << 24;
    options.waive_large_reason = "production-size case runs on cpu-avx2 only; cpu-scalar's bit-equality with "
                                 "it is checked by isa_agreement_tests";
  }
  int passed = 0;
  std::vector<CaseReport> reports = run_families({family}, *backend, options);
  int waived = 0;
  for (const CaseReport& r : reports) {
    if (r.result.outcome == Outcome::passed) { ++passed; continue; }
    if (r.result.outcome == Outcome::waived) {  // counted and shown with its reason, never a pass
      ++waived;
      std::cout << "[ waived   ] " << p.family << "/" << r.case_name << ": " << r.result.reason << "\n";
      continue;
    }
    std::string details;
    for (const std::string& f : r.result.failures) details += "\n    " + f;
    ADD_FAILURE() << to_string(r.result.outcome) << ": " << p.family << "/" << r.case_name << " on " << p.backend
                  << details << (r.result.reason.empty() ? "" : "\n    " + r.result.reason)
                  << (r.repro_path.empty() ? "" : "\n    repro: " + r.repro_path);
  }
  EXPECT_GT(passed, 0) << "the table ran no case";
  RecordProperty("cases_passed", passed);
  std::cout << "[ cases    ] " << p.family << " on " << p.backend << ": " << passed << " of " << reports.size()
            << " passed, " << waived << " waived\n";
}

INSTANTIATE_TEST_SUITE_P(Tables, Differential, ::testing::ValuesIn(all_pairs()),
                         [](const ::testing::TestParamInfo<FamilyOnBackend>& info) {
                           std::string name = info.param.family + "_on_" + info.param.backend;
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace smoothcheck
