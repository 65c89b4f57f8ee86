#include "harness/report/benchmark_series.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace smoothcheck::report {

namespace {

double nanoseconds_per(const std::string& unit, const std::string& where) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  throw std::invalid_argument(where + ": unknown time_unit '" + unit + "'");
}

// Fields Google Benchmark writes for every row; every other numeric field is a user counter.
const std::set<std::string>& standard_fields() {
  static const std::set<std::string> fields = {
      "family_index", "per_family_instance_index", "repetitions", "repetition_index", "threads",
      "iterations",   "real_time",                 "cpu_time",    "time_unit",        "aggregate_unit"};
  return fields;
}

}  // namespace

bool is_google_benchmark_json(const nlohmann::json& j) {
  return j.is_object() && j.contains("context") && j["context"].is_object() && j.contains("benchmarks") &&
         j["benchmarks"].is_array();
}

std::vector<BenchmarkSeries> read_benchmark_series(const nlohmann::json& j, const std::string& source) {
  if (!is_google_benchmark_json(j))
    throw std::invalid_argument(source + ": not Google Benchmark JSON (no \"context\" object and \"benchmarks\" array)");
  std::vector<BenchmarkSeries> series;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < j["benchmarks"].size(); ++i) {
    const nlohmann::json& row = j["benchmarks"][i];
    const std::string where = source + ": benchmarks[" + std::to_string(i) + "]";
    if (!row.is_object()) throw std::invalid_argument(where + " is not an object");
    if (row.value("run_type", "iteration") == "aggregate") continue;
    const std::string name = row.contains("run_name") && row["run_name"].is_string() ? row["run_name"].get<std::string>()
                             : row.contains("name") && row["name"].is_string()       ? row["name"].get<std::string>()
                                                                                     : "";
    if (name.empty()) throw std::invalid_argument(where + " has no name");
    auto [it, inserted] = index.emplace(name, series.size());
    if (inserted) series.push_back({name, {}, {}, {}});
    BenchmarkSeries& s = series[it->second];
    if (row.value("error_occurred", false)) {
      s.error = row.value("error_message", std::string("error_occurred"));
      continue;
    }
    if (!row.contains("real_time") || !row["real_time"].is_number())
      throw std::invalid_argument(where + " (" + name + "): real_time is missing or not a number");
    const double scale = nanoseconds_per(row.value("time_unit", std::string("ns")), where + " (" + name + ")");
    s.real_time_ns.push_back(row["real_time"].get<double>() * scale);
    for (const auto& [key, value] : row.items())
      if (value.is_number() && !standard_fields().count(key)) s.counters[key].push_back(value.get<double>());
  }
  return series;
}

double median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace smoothcheck::report
