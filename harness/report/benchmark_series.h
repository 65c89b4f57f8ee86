// Google Benchmark JSON (--benchmark_out=FILE --benchmark_out_format=json) as one series of
// repetitions per benchmark: the wall time of every repetition and every user counter (bytes/s, the
// frac_* fractions of a measured ceiling). Aggregate rows (mean, median, stddev, cv) are skipped:
// the statistics are recomputed from the repetitions themselves.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smoothcheck::report {

struct BenchmarkSeries {
  std::string name;                                        // run_name: the same for every repetition
  std::vector<double> real_time_ns;                        // one per repetition, in nanoseconds
  std::map<std::string, std::vector<double>> counters;     // user counters, one value per repetition
  std::string error;                                       // error_message of a repetition that failed
};

// True for a document that looks like Google Benchmark's (a "context" object and a "benchmarks" array).
bool is_google_benchmark_json(const nlohmann::json& j);

// Throws std::invalid_argument naming `source`, the benchmark and the field when a row is malformed
// (no name, a time that is not a number, an unknown time_unit).
std::vector<BenchmarkSeries> read_benchmark_series(const nlohmann::json& j, const std::string& source);

double median(std::vector<double> values);  // NaN for an empty list

}  // namespace smoothcheck::report
