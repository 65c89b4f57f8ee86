// The generic differential runner: a case is a row (one struct per kernel family with a name() that
// prints every parameter); the runner runs it on a backend beside the reference, owns the checks every
// case shares (harness/differential/case_tensors.h), turns exceptions into "kernel error", waives what cannot run here
// with the reason, and writes a repro for failures.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/differential/case_tensors.h"
#include "harness/differential/outcome.h"
#include "kernels/kernel_api.h"

namespace smoothcheck {

class Case {
 public:
  virtual ~Case() = default;
  // Every parameter, e.g. "quantize_per_token/t17_c1025_pad8/bf16/outliers/half_even-reciprocal-saturate-zero_scale/seed3".
  virtual std::string name() const = 0;
  virtual uint64_t seed() const = 0;
  // The case's size: elements of its largest operand, or multiply-adds for a product. The runner can
  // waive production-size cases on a slow path by it.
  virtual int64_t work() const = 0;
  // Declares its inputs and outputs in tensors, runs the kernel on backend through tensors.run_kernel
  // (returning at once when that returns false), then compares what it wrote with the reference, recording
  // into result. It keeps the expected values it computed (result.keep; the runner writes them only for a
  // failing case); the inputs and actual outputs are kept by the runner. Throws only for harness bugs.
  virtual void run(kernels::Backend& backend, CaseTensors& tensors, CaseResult& result) const = 0;
};

using CaseList = std::vector<std::unique_ptr<Case>>;

struct Family {
  std::string name;                // the kernel family, e.g. "quantize_per_token"
  std::function<CaseList()> cases;  // its case table
};

struct CaseReport {
  std::string family;
  std::string case_name;
  std::string backend;
  CaseResult result;
  std::string repro_path;  // set when a repro file was written
};

struct RunOptions {
  std::string filter;     // substring or glob (* and ?) matched against "family/case"
  std::string repro_dir;  // where failing cases write their repro; empty: no repro files
  // Cases whose work() exceeds max_work are waived with waive_large_reason (0: no limit).
  int64_t max_work = 0;
  std::string waive_large_reason;
};

bool matches_filter(const std::string& text, const std::string& pattern);

// Runs one case; never throws (a harness exception becomes kernel_error with the message).
CaseReport run_case(const Family& family, const Case& c, kernels::Backend& backend, const RunOptions& options);

// Runs every matching case of every family on the backend (waiving all of them, with the reason, when
// the backend is not available here).
std::vector<CaseReport> run_families(const std::vector<Family>& families, kernels::Backend& backend,
                                     const RunOptions& options,
                                     const std::function<void(const CaseReport&)>& on_case = nullptr);

}  // namespace smoothcheck
