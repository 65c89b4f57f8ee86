#include "harness/report/results_document.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/differential/repro_writer.h"
#include "harness/report/benchmark_series.h"
#include "harness/report/results_builders.h"

namespace smoothcheck::report {

nlohmann::json metric_to_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double metric_from_json(const nlohmann::json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return NAN;
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
  }
  throw std::invalid_argument(where + " is not a number (nor \"inf\", \"-inf\", \"nan\"): " + v.dump());
}

nlohmann::json ResultsDocument::to_json() const {
  nlohmann::json j = {{"schema", kResultsSchema}, {"kind", kind}, {"run", run}};
  nlohmann::json m = nlohmann::json::object(), t = nlohmann::json::object();
  for (const auto& [k, v] : metrics) m[k] = metric_to_json(v);
  for (const auto& [k, v] : totals) t[k] = metric_to_json(v);
  j["metrics"] = m;
  j["totals"] = t;
  nlohmann::json cs = nlohmann::json::array();
  for (const CaseEntry& c : cases)
    cs.push_back({{"suite", c.suite}, {"name", c.name}, {"outcome", c.outcome}, {"failures", c.failures},
                  {"reason", c.reason}});
  j["cases"] = cs;
  j["detail"] = detail;
  return j;
}

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* name, nlohmann::json::value_t type,
                            const std::string& where) {
  if (!j.is_object() || !j.contains(name)) throw std::invalid_argument(where + ": missing \"" + name + "\"");
  const nlohmann::json& v = j[name];
  if (v.type() != type) throw std::invalid_argument(where + ": \"" + name + "\" has the wrong type (" + v.type_name() + ")");
  return v;
}

std::map<std::string, double> metric_map(const nlohmann::json& j, const std::string& where) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : j.items()) out[k] = metric_from_json(v, where + "[\"" + k + "\"]");
  return out;
}

}  // namespace

ResultsDocument parse_results_document(const nlohmann::json& j, const std::string& source) {
  using T = nlohmann::json::value_t;
  const std::string schema = field(j, "schema", T::string, source).get<std::string>();
  if (schema != kResultsSchema)
    throw std::invalid_argument(source + ": schema is '" + schema + "', expected '" + kResultsSchema + "'");
  ResultsDocument d;
  d.source = source;
  d.kind = field(j, "kind", T::string, source).get<std::string>();
  if (d.kind != "run" && d.kind != "verify" && d.kind != "benchmark")
    throw std::invalid_argument(source + ": kind '" + d.kind + "' is not run, verify or benchmark");
  d.run = field(j, "run", T::object, source);
  d.metrics = metric_map(field(j, "metrics", T::object, source), source + ": metrics");
  d.totals = metric_map(field(j, "totals", T::object, source), source + ": totals");
  const nlohmann::json& cases = field(j, "cases", T::array, source);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string where = source + ": cases[" + std::to_string(i) + "]";
    CaseEntry c;
    c.suite = field(cases[i], "suite", T::string, where).get<std::string>();
    c.name = field(cases[i], "name", T::string, where).get<std::string>();
    c.outcome = field(cases[i], "outcome", T::string, where).get<std::string>();
    for (const auto& f : field(cases[i], "failures", T::array, where)) c.failures.push_back(f.get<std::string>());
    c.reason = cases[i].value("reason", std::string());
    d.cases.push_back(std::move(c));
  }
  d.detail = j.value("detail", nlohmann::json::object());
  return d;
}

ResultsDocument read_results_file(const std::filesystem::path& file) {
  const std::string source = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument(source + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw std::invalid_argument(source + ": not valid JSON");
  if (is_google_benchmark_json(j)) return results_from_benchmark(j, source, nlohmann::json::object());
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string())
    throw std::invalid_argument(source + ": neither a smoothcheck results document (no \"schema\") nor Google Benchmark JSON");
  const std::string schema = j["schema"].get<std::string>();
  if (schema == kResultsSchema) return parse_results_document(j, source);
  if (schema == "smoothcheck.results/1") return results_from_run_v1(j, source);
  if (schema == "smoothcheck.verify/1") return results_from_verify(j, "unnamed", nlohmann::json::array(), nlohmann::json::object());
  if (schema == "smoothcheck.sweep/1") return results_from_sweep(j, source);
  throw std::invalid_argument(source + ": unknown schema '" + schema + "'");
}

void write_results_file(const std::filesystem::path& file, const ResultsDocument& doc) {
  write_file_atomically(file.string(), doc.to_json().dump(1) + "\n");
}

}  // namespace smoothcheck::report
