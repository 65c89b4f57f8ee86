// The one results document every `smoothcheck run`, `verify` and benchmark run writes (schema
// smoothcheck.results/2): where it ran (run_info.h: machine, CPU, GPU, compiler, build type, git
// commit), every number under a stable hierarchical key, the cases as CI systems see them, and the
// data the HTML report draws.
//
// Keys, one family of each kind (a case name's own slashes stay in the key):
//   run/<family>/<backend>/<case>/<tensor>/<metric>   run/quantize_per_token/cpu/t17_c1025_pad3/bf16/.../seed2/q/off_by_one
//   verify/<model>/<linear>/err_over_bound             verify/stories260K/hf/model.layers.0.mlp.down_proj/err_over_bound
//   verify/<model>/forward/<metric>                    verify/stories260K/hf/forward/argmax_agreement
//   bench/<benchmark>/<real_time_ns or counter>        bench/quantize_per_token/.../real_time/frac_copy_bw (medians)
// `totals` holds roll-ups under the same scheme (run/<family>/<backend>/incorrect, .../worst/<metric>).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smoothcheck::report {

inline constexpr const char* kResultsSchema = "smoothcheck.results/2";

struct CaseEntry {
  std::string suite;    // "run/quantize_per_token/cpu", "verify/stories260K/hf", "bench"
  std::string name;     // the case within its suite
  std::string outcome;  // outcome.h's words: passed, incorrect, kernel_error, waived, not_verified
  std::vector<std::string> failures;
  std::string reason;   // why it was waived or errored
  std::string id() const { return suite + "/" + name; }
  bool bad() const { return outcome == "incorrect" || outcome == "kernel_error"; }
};

struct ResultsDocument {
  std::string source;  // the file it came from, for messages
  std::string kind;    // run, verify, benchmark
  nlohmann::json run = nlohmann::json::object();
  std::map<std::string, double> metrics;
  std::map<std::string, double> totals;
  std::vector<CaseEntry> cases;
  nlohmann::json detail = nlohmann::json::object();

  nlohmann::json to_json() const;
};

// A results/2 document. Throws std::invalid_argument naming `source` and the field that is wrong.
ResultsDocument parse_results_document(const nlohmann::json& j, const std::string& source);

// Any results file smoothcheck knows: results/2; results/1 and verify/1 (older `run --json` and
// `verify --json`, converted, their machine fields kept where present); Google Benchmark JSON
// (converted, its context kept). Throws std::invalid_argument naming the file and the problem.
ResultsDocument read_results_file(const std::filesystem::path& file);

// Writes atomically (atomic_file.h).
void write_results_file(const std::filesystem::path& file, const ResultsDocument& doc);

// JSON has no infinity or NaN: they travel as the strings "inf", "-inf", "nan".
nlohmann::json metric_to_json(double v);
double metric_from_json(const nlohmann::json& v, const std::string& where);

}  // namespace smoothcheck::report
