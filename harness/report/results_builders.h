// Builds results/2 documents (results_document.h) from what each producer has in hand: the case
// reports of `smoothcheck run`, the report of `smoothcheck verify` (with the activation profile), and
// Google Benchmark JSON; and converts the older results/1 and verify/1 files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/differential/case_runner.h"
#include "harness/report/results_document.h"

namespace smoothcheck::report {

// Collects `smoothcheck run`'s cases one at a time (the reports carry repro tensors, so they are not
// kept), then rolls up the totals per family and backend.
class RunResultsBuilder {
 public:
  RunResultsBuilder(nlohmann::json run_info, std::string filter, std::vector<std::string> backends);
  void add(const CaseReport& report);
  void add(const std::string& family, const std::string& case_name, const std::string& backend,
           const std::string& outcome, const std::vector<std::string>& failures, const std::string& reason,
           const std::map<std::string, double>& metrics, const std::vector<std::string>& notes,
           const std::string& repro);
  ResultsDocument finish();

 private:
  ResultsDocument doc_;
};

ResultsDocument results_from_run_v1(const nlohmann::json& j, const std::string& source);

// verify_report: VerifyReport::to_json() (schema smoothcheck.verify/1); model: the label its keys
// carry (e.g. "stories260K/hf"); activation_profile: activation_profile.h's JSON, or an empty array.
ResultsDocument results_from_verify(const nlohmann::json& verify_report, const std::string& model,
                                    const nlohmann::json& activation_profile, const nlohmann::json& run_info);

// sweep: `smoothcheck sweep --out`'s sweep.json (schema smoothcheck.sweep/1). Metrics per group (the
// chosen α, the SQNR there) and, with --whole-model, per choice (NLL rise, KL); the page draws the
// heat map, the chosen α per layer and the sensitivity ranking from `detail.sweep`.
ResultsDocument results_from_sweep(const nlohmann::json& sweep, const std::string& source);

// run_info: this process's, when the conversion runs beside the benchmark (`smoothcheck perf record`);
// an empty object keeps only what Google Benchmark's context says (host, CPU, its build type).
ResultsDocument results_from_benchmark(const nlohmann::json& google_benchmark, const std::string& source,
                                       const nlohmann::json& run_info);

}  // namespace smoothcheck::report
