#include "harness/differential/case_runner.h"

#include <exception>

#include "harness/differential/repro_writer.h"

namespace smoothcheck {

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::passed: return "passed";
    case Outcome::incorrect: return "incorrect";
    case Outcome::kernel_error: return "kernel_error";
    case Outcome::waived: return "waived";
    case Outcome::not_verified: return "not_verified";
  }
  return "?";
}

bool matches_filter(const std::string& text, const std::string& pattern) {
  if (pattern.empty()) return true;
  if (pattern.find_first_of("*?") == std::string::npos) return text.find(pattern) != std::string::npos;
  // glob: * any run, ? one character
  std::size_t t = 0, p = 0, star = std::string::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) { ++t; ++p; }
    else if (p < pattern.size() && pattern[p] == '*') { star = p++; resume = t; }
    else if (star != std::string::npos) { p = star + 1; t = ++resume; }
    else return false;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

CaseReport run_case(const Family& family, const Case& c, kernels::Backend& backend, const RunOptions& options) {
  CaseReport report{family.name, c.name(), backend.name(), {}, {}};
  try {
    CaseTensors tensors(report.result);
    c.run(backend, tensors, report.result);
    tensors.check_after_case();
  } catch (const std::exception& e) {
    report.result = CaseResult{};  // what the case recorded before the harness failed proves nothing
    report.result.outcome = Outcome::kernel_error;
    report.result.reason = std::string("harness exception: ") + e.what();
  }
  report.result.conclude();
  if (report.result.outcome == Outcome::incorrect && !options.repro_dir.empty()) {
    try {
      report.repro_path = write_repro(options.repro_dir, report);
    } catch (const std::exception& e) {
      report.result.notes.push_back(std::string("could not write the repro: ") + e.what());
    }
  }
  report.result.tensors.clear();  // written already; keep reports small
  return report;
}

std::vector<CaseReport> run_families(const std::vector<Family>& families, kernels::Backend& backend,
                                     const RunOptions& options,
                                     const std::function<void(const CaseReport&)>& on_case) {
  std::vector<CaseReport> reports;
  std::string why_not;
  bool available = backend.available(&why_not);
  for (const Family& family : families) {
    CaseList cases = family.cases();
    for (const auto& c : cases) {
      std::string full = family.name + "/" + c->name();
      if (!matches_filter(full, options.filter)) continue;
      CaseReport report;
      const bool too_large = options.max_work > 0 && c->work() > options.max_work;
      if (!available || too_large) {
        report = CaseReport{family.name, c->name(), backend.name(), {}, {}};
        report.result.outcome = Outcome::waived;
        report.result.reason = available ? options.waive_large_reason : why_not;
      } else {
        report = run_case(family, *c, backend, options);
      }
      if (on_case) on_case(report);
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

}  // namespace smoothcheck
