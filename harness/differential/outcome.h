// What one case's run concluded, with the evidence a kernel engineer needs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace smoothcheck {

// design.md: passed, incorrect, kernel error, waived (a skip with its reason, never a pass), not verified.
enum class Outcome { passed, incorrect, kernel_error, waived, not_verified };
const char* to_string(Outcome o);

// A tensor kept for the repro file of a failing case.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<double> values;
};

struct CaseResult {
  Outcome outcome = Outcome::not_verified;
  std::vector<std::string> failures;        // one line per failed check, naming the check and the first location
  std::map<std::string, double> metrics;    // e.g. "codes/off_by_one", "out/max_err_over_bound"
  std::vector<std::string> notes;           // e.g. where the off-by-one codes are
  std::vector<NamedTensor> tensors;         // inputs, expected, actual: written to the repro file on failure
  std::string reason;                       // for kernel_error and waived

  void fail(const std::string& check, const std::string& message) { failures.push_back(check + ": " + message); }
  void metric(const std::string& key, double value) { metrics[key] = value; }
  void keep(std::string name, std::vector<int64_t> shape, std::vector<double> values) {
    tensors.push_back({std::move(name), std::move(shape), std::move(values)});
  }
  // passed when every check passed; incorrect otherwise (kernel_error/waived are set directly).
  void conclude() {
    if (outcome == Outcome::not_verified) outcome = failures.empty() ? Outcome::passed : Outcome::incorrect;
  }
};

}  // namespace smoothcheck
