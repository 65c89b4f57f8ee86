#include "harness/report/results_builders.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "harness/report/benchmark_series.h"

namespace smoothcheck::report {

namespace {

// The metric name after the tensor, e.g. "q/off_by_one" -> "off_by_one".
std::string leaf(const std::string& key) {
  const std::size_t slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

}  // namespace

RunResultsBuilder::RunResultsBuilder(nlohmann::json run_info, std::string filter, std::vector<std::string> backends) {
  doc_.kind = "run";
  doc_.run = std::move(run_info);
  doc_.detail = {{"filter", filter}, {"backends", backends}, {"case_notes", nlohmann::json::array()}};
}

void RunResultsBuilder::add(const CaseReport& report) {
  const CaseResult& r = report.result;
  add(report.family, report.case_name, report.backend, to_string(r.outcome), r.failures, r.reason, r.metrics,
      r.notes, report.repro_path);
}

void RunResultsBuilder::add(const std::string& family, const std::string& case_name, const std::string& backend,
                            const std::string& outcome, const std::vector<std::string>& failures,
                            const std::string& reason, const std::map<std::string, double>& metrics,
                            const std::vector<std::string>& notes, const std::string& repro) {
  const std::string suite = "run/" + family + "/" + backend;
  doc_.cases.push_back({suite, case_name, outcome, failures, reason});
  for (const auto& [key, value] : metrics) {
    doc_.metrics[suite + "/" + case_name + "/" + key] = value;
    // Roll-ups: the case closest to its bound, and every off-by-one and wrong value counted.
    const std::string name = leaf(key);
    if (name == "max_err_over_bound") {
      double& worst = doc_.totals.try_emplace(suite + "/worst/" + key, 0.0).first->second;
      worst = std::isnan(value) ? value : std::max(worst, value);
    } else if (name == "off_by_one" || name == "wrong" || name == "mismatches") {
      doc_.totals[suite + "/total/" + key] += value;
    }
  }
  doc_.totals[suite + "/" + outcome] += 1;
  // What the flat lists above cannot hold: where the off-by-ones are, and the repro folder.
  if (!notes.empty() || !repro.empty())
    doc_.detail["case_notes"].push_back({{"id", suite + "/" + case_name}, {"notes", notes}, {"repro", repro}});
}

ResultsDocument RunResultsBuilder::finish() { return std::move(doc_); }

ResultsDocument results_from_run_v1(const nlohmann::json& j, const std::string& source) {
  if (!j.contains("cases") || !j["cases"].is_array()) throw std::invalid_argument(source + ": results/1 without a \"cases\" array");
  RunResultsBuilder builder(j.value("run", nlohmann::json::object()), j.value("filter", std::string()),
                            j.value("backends", std::vector<std::string>{}));
  for (std::size_t i = 0; i < j["cases"].size(); ++i) {
    const nlohmann::json& c = j["cases"][i];
    const std::string where = source + ": cases[" + std::to_string(i) + "]";
    if (!c.is_object() || !c.contains("family") || !c.contains("case") || !c.contains("backend") || !c.contains("outcome"))
      throw std::invalid_argument(where + " lacks family, case, backend or outcome");
    std::map<std::string, double> metrics;
    const nlohmann::json case_metrics = c.value("metrics", nlohmann::json::object());
    for (const auto& [k, v] : case_metrics.items())
      metrics[k] = metric_from_json(v.is_null() ? nlohmann::json("inf") : v, where + ".metrics." + k);
    builder.add(c["family"].get<std::string>(), c["case"].get<std::string>(), c["backend"].get<std::string>(),
                c["outcome"].get<std::string>(), c.value("failures", std::vector<std::string>{}),
                c.value("reason", std::string()), metrics, c.value("notes", std::vector<std::string>{}),
                c.value("repro", std::string()));
  }
  ResultsDocument d = builder.finish();
  d.source = source;
  return d;
}

ResultsDocument results_from_verify(const nlohmann::json& v, const std::string& model,
                                    const nlohmann::json& activation_profile, const nlohmann::json& run_info) {
  ResultsDocument d;
  d.kind = "verify";
  d.run = run_info;
  const std::string suite = "verify/" + model;
  const nlohmann::json thresholds = v.value("thresholds", nlohmann::json::object());
  const double weight_limit = thresholds.value("max_weight_error_over_bound", 1.0);
  for (const nlohmann::json& l : v.value("linears", nlohmann::json::array())) {
    const std::string name = l.value("name", std::string("?"));
    const double ratio = metric_from_json(l.value("max_error_over_bound", nlohmann::json(0.0)), suite + "/" + name);
    d.metrics[suite + "/" + name + "/err_over_bound"] = ratio;
    d.metrics[suite + "/" + name + "/max_abs_err"] =
        metric_from_json(l.value("max_abs_error", nlohmann::json(0.0)), suite + "/" + name);
    CaseEntry c{suite, "weights/" + name, ratio <= weight_limit ? "passed" : "incorrect", {}, {}};
    if (c.bad()) c.failures.push_back("max error / bound " + std::to_string(ratio) + " > " + std::to_string(weight_limit));
    d.cases.push_back(std::move(c));
  }
  const nlohmann::json forward = v.value("forward", nlohmann::json::object());
  for (const char* key : {"max_abs_logit_delta", "argmax_agreement", "nll_increase"})
    if (forward.contains(key)) d.metrics[suite + "/forward/" + key] = metric_from_json(forward[key], suite + "/forward");
  if (forward.contains("token_kl"))
    for (const char* key : {"mean", "max"})
      d.metrics[suite + "/forward/token_kl_" + key] =
          metric_from_json(forward["token_kl"].value(key, nlohmann::json("nan")), suite + "/forward/token_kl");
  for (const nlohmann::json& l : forward.value("linear_sqnr_db", nlohmann::json::array()))
    d.metrics[suite + "/" + l.value("name", std::string("?")) + "/output_sqnr_db"] =
        metric_from_json(l.value("sqnr_db", nlohmann::json("nan")), suite + "/output_sqnr_db");
  // A third-party checkpoint's recovered smoothing: the fitted α and its residual per group.
  for (const nlohmann::json& g : v.value("recovered_smoothing", nlohmann::json::array()))
    if (g.contains("fit"))
      for (const char* key : {"alpha", "residual"})
        d.metrics[suite + "/" + g.value("source", std::string("?")) + "/fit_" + key] =
            metric_from_json(g["fit"].value(key, nlohmann::json("nan")), suite + "/recovered_smoothing");
  const std::vector<std::string> failures = v.value("failures", std::vector<std::string>{});
  d.cases.push_back({suite, "export", failures.empty() ? "passed" : "incorrect", failures, {}});
  // Each of verify's checks: one that could not run (no --stats, --no-forward) is waived with its
  // reason, never counted as passed.
  for (const nlohmann::json& c : v.value("checks", nlohmann::json::array())) {
    const std::string check = c.value("check", std::string("?")), state = c.value("state", std::string("?"));
    CaseEntry e{suite, "check/" + check, state == "passed" ? "passed" : state == "failed" ? "incorrect" : "waived", {}, {}};
    if (e.outcome == "incorrect")
      for (const std::string& f : failures)
        if (f.compare(0, check.size() + 1, check + ":") == 0) e.failures.push_back(f);
    if (e.outcome == "waived") e.reason = c.value("why", std::string("not run"));
    d.cases.push_back(std::move(e));
  }
  for (const nlohmann::json& p : activation_profile) {
    const std::string input = p.value("input", std::string("?"));
    for (const char* side : {"before", "after"})
      d.metrics[suite + "/" + input + "/absmax_max_over_median/" + side] =
          metric_from_json(p.value("max_over_median", nlohmann::json::object()).value(side, nlohmann::json("nan")),
                           suite + "/" + input + "/max_over_median");
  }
  d.totals[suite + "/linears"] = double(v.value("linears", nlohmann::json::array()).size());
  d.totals[suite + "/failures"] = double(failures.size());
  d.detail = {{"model", model}, {"verify", v}, {"activation_profile", activation_profile}};
  return d;
}

ResultsDocument results_from_benchmark(const nlohmann::json& gb, const std::string& source, const nlohmann::json& run_info) {
  ResultsDocument d;
  d.source = source;
  d.kind = "benchmark";
  d.run = run_info;
  if (!is_google_benchmark_json(gb)) throw std::invalid_argument(source + ": not Google Benchmark JSON");
  const nlohmann::json& context = gb["context"];
  // Without this process's run_info, keep the machine fields Google Benchmark records itself.
  if (d.run.empty())
    d.run = {{"host", context.value("host_name", std::string("unknown"))},
             {"date", context.value("date", std::string("unknown"))},
             {"cpu_threads", context.value("num_cpus", 0)},
             {"build_type", context.value("library_build_type", std::string("unknown"))},
             {"git_commit", "unknown"}};
  nlohmann::json rows = nlohmann::json::array();
  for (const BenchmarkSeries& s : read_benchmark_series(gb, source)) {
    d.cases.push_back({"bench", s.name, s.error.empty() ? "passed" : "kernel_error", {}, s.error});
    nlohmann::json counters = nlohmann::json::object();
    if (!s.real_time_ns.empty()) d.metrics["bench/" + s.name + "/real_time_ns"] = median(s.real_time_ns);
    for (const auto& [k, values] : s.counters) {
      d.metrics["bench/" + s.name + "/" + k] = median(values);
      counters[k] = values;
    }
    rows.push_back({{"name", s.name}, {"real_time_ns", s.real_time_ns}, {"counters", counters}, {"error", s.error}});
  }
  d.totals["bench/benchmarks"] = double(rows.size());
  d.detail = {{"context", context}, {"benchmarks", rows}};
  return d;
}

ResultsDocument results_from_sweep(const nlohmann::json& sweep, const std::string& source) {
  ResultsDocument d;
  d.source = source;
  d.kind = "sweep";
  d.run = sweep.value("run", nlohmann::json::object());  // the machine and build `sweep` ran on
  std::string model = sweep.value("model", std::string("unnamed"));
  const std::filesystem::path p = std::filesystem::path(model).lexically_normal();
  if (p.has_parent_path() && p.parent_path().has_filename())
    model = p.parent_path().filename().string() + "/" + p.filename().string();
  const std::string suite = "sweep/" + model;
  for (const nlohmann::json& g : sweep.value("groups", nlohmann::json::array())) {
    const std::string group = g.value("source", std::string("?"));
    const double best = metric_from_json(g.value("best_alpha", nlohmann::json("nan")), suite + "/" + group);
    d.metrics[suite + "/" + group + "/best_alpha"] = best;
    for (const nlohmann::json& point : g.value("points", nlohmann::json::array()))
      if (std::fabs(point.value("alpha", -1.0) - best) < 1e-6)
        d.metrics[suite + "/" + group + "/sqnr_db_at_best"] =
            metric_from_json(point.value("sqnr_db", nlohmann::json("nan")), suite + "/" + group);
  }
  const nlohmann::json whole = sweep.value("whole_model", nlohmann::json::object());
  const nlohmann::json choices = whole.value("choices", nlohmann::json::object());  // outlives items()
  for (const auto& [choice, figures] : choices.items())
    for (const char* key : {"nll_increase", "mean_token_kl", "mean_embedding_cosine", "loss"})  // the measure's own
      if (figures.contains(key))
        d.metrics[suite + "/whole_model/" + choice + "/" + key] = metric_from_json(figures.at(key), suite + "/whole_model");
  d.totals[suite + "/groups"] = double(sweep.value("groups", nlohmann::json::array()).size());
  d.detail = {{"model", model}, {"sweep", sweep}};
  return d;
}

}  // namespace smoothcheck::report
