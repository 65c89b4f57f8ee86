#include "harness/report/regression_rules.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace smoothcheck::report {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

std::map<std::string, const CaseEntry*> cases_by_id(const std::vector<ResultsDocument>& docs) {
  std::map<std::string, const CaseEntry*> out;
  for (const ResultsDocument& d : docs)
    for (const CaseEntry& c : d.cases) out[c.id()] = &c;
  return out;
}

std::map<std::string, double> metrics_of(const std::vector<ResultsDocument>& docs) {
  std::map<std::string, double> out;
  for (const ResultsDocument& d : docs) out.insert(d.metrics.begin(), d.metrics.end());
  return out;
}

void compare_cases(const std::vector<ResultsDocument>& now, const std::vector<ResultsDocument>& baseline,
                   BaselineComparison& out) {
  const auto base = cases_by_id(baseline);
  const auto current = cases_by_id(now);
  for (const auto& [id, c] : current) {
    auto it = base.find(id);
    const std::string before = it == base.end() ? "absent" : it->second->outcome;
    if (c->bad() && (it == base.end() || !it->second->bad())) {
      std::string first = c->failures.empty() ? c->reason : c->failures.front();
      out.regressions.push_back({id, "new incorrect case (" + before + " -> " + c->outcome + "): " + first});
    } else if (!c->bad() && it != base.end() && it->second->bad()) {
      out.improvements.push_back({id, "fixed (" + before + " -> " + c->outcome + ")"});
    } else if (it == base.end() && out.have_baseline) {
      out.other_changes.push_back({id, "case added (" + c->outcome + ")"});
    } else if (it != base.end() && it->second->outcome != c->outcome) {
      out.other_changes.push_back({id, before + " -> " + c->outcome});
    }
  }
  for (const auto& [id, c] : base)
    if (!current.count(id)) out.other_changes.push_back({id, "case removed (was " + c->outcome + ")"});
}

void compare_metrics(const std::vector<ResultsDocument>& now, const std::vector<ResultsDocument>& baseline,
                     const RegressionRules& rules, BaselineComparison& out) {
  const auto base = metrics_of(baseline);
  for (const auto& [key, value] : metrics_of(now)) {
    auto it = base.find(key);
    if (it == base.end()) continue;
    const double before = it->second;
    if (ends_with(key, "err_over_bound")) {
      const double growth = value - before;
      const std::string moved = number(before) + " -> " + number(value) + " of the bound";
      if (growth > rules.bound_margin || (std::isnan(value) && !std::isnan(before)))
        out.regressions.push_back({key, "closer to its bound by more than " + number(rules.bound_margin) + ": " + moved});
      else if (-growth > rules.bound_margin)
        out.improvements.push_back({key, "further from its bound: " + moved});
    } else if (ends_with(key, "off_by_one") && value != before) {
      out.other_changes.push_back({key, "off-by-one codes " + number(before) + " -> " + number(value)});
    }
  }
}

void compare_perf(const std::vector<ResultsDocument>& now, const std::vector<ResultsDocument>& baseline,
                  const RegressionRules& rules, BaselineComparison& out) {
  const PerfComparisonSet set = compare_benchmarks(benchmark_series_of(baseline), benchmark_series_of(now), rules.perf);
  std::size_t too_few_repetitions = 0;
  for (const PerfComparison& c : set.compared) {
    out.perf.push_back(c);
    const std::string key = "bench/" + c.name;
    const std::string message = std::string(to_string(c.verdict)) + ": " + c.why;
    if (c.base_repetitions < rules.perf.min_repetitions || c.new_repetitions < rules.perf.min_repetitions)
      ++too_few_repetitions;  // one line for all of them below
    else if (c.verdict == PerfVerdict::slower) out.regressions.push_back({key, message});
    else if (c.verdict == PerfVerdict::faster) out.improvements.push_back({key, message});
    else if (c.verdict == PerfVerdict::noisy) out.other_changes.push_back({key, message});
  }
  if (too_few_repetitions)
    out.other_changes.push_back({"bench", std::to_string(too_few_repetitions) + " benchmark(s) not judged: fewer than " +
                                              std::to_string(rules.perf.min_repetitions) +
                                              " repetitions on a side (run with --benchmark_repetitions to judge them)"});
  for (const std::string& e : set.errors) out.other_changes.push_back({"bench", "benchmark error: " + e});
}

}  // namespace

std::string regression_rules_text(const RegressionRules& rules) {
  char text[400];
  std::snprintf(text, sizeof text,
                "Regression rules: a new incorrect case; an err_over_bound more than %.0f %% of the bound closer to "
                "it than in the baseline; a benchmark SLOWER by two-sided Mann-Whitney U (p < %.2g, >= %zu "
                "repetitions each, median change >= %.0f %%).",
                100 * rules.bound_margin, rules.perf.alpha, rules.perf.min_repetitions, 100 * rules.perf.min_effect);
  return text;
}

std::vector<BenchmarkSeries> benchmark_series_of(const std::vector<ResultsDocument>& docs) {
  std::vector<BenchmarkSeries> out;
  for (const ResultsDocument& d : docs) {
    if (d.kind != "benchmark") continue;
    for (const nlohmann::json& row : d.detail.value("benchmarks", nlohmann::json::array())) {
      BenchmarkSeries s;
      s.name = row.value("name", std::string());
      s.real_time_ns = row.value("real_time_ns", std::vector<double>{});
      s.error = row.value("error", std::string());
      const nlohmann::json counters = row.value("counters", nlohmann::json::object());
      for (const auto& [k, v] : counters.items())
        s.counters[k] = v.get<std::vector<double>>();
      out.push_back(std::move(s));
    }
  }
  return out;
}

BaselineComparison compare_to_baseline(const std::vector<ResultsDocument>& now,
                                       const std::vector<ResultsDocument>& baseline, const RegressionRules& rules) {
  BaselineComparison out;
  out.have_baseline = !baseline.empty();
  compare_cases(now, baseline, out);
  if (out.have_baseline) {
    compare_metrics(now, baseline, rules, out);
    compare_perf(now, baseline, rules, out);
  }
  return out;
}

}  // namespace smoothcheck::report
