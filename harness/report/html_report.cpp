#include "harness/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "harness/report/activation_profile.h"
#include "harness/report/svg_chart.h"
#include "harness/report/xml_text.h"

namespace smoothcheck::report {

namespace {

constexpr std::size_t kMaxListed = 200;

const char* kStyle = R"(body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
.bad{color:#c0392b;font-weight:bold}.ok{color:#1e8449;font-weight:bold}.chart{margin:0.5em 1em 0.5em 0}
.grid{display:flex;flex-wrap:wrap}#script-errors{color:#fff;background:#c0392b;padding:4px}
code{font-size:0.85em})";

// Writes any script error into the page: a blank or broken render must be visible, not silent.
const char* kErrorHook = R"(<script>
window.addEventListener('error', function (e) {
  var box = document.getElementById('script-errors');
  if (!box) {
    box = document.createElement('pre');
    box.id = 'script-errors';
    document.documentElement.appendChild(box);
  }
  box.hidden = false;
  box.textContent += 'script error: ' + e.message + '\n';
});
</script>)";

std::string run_value(const nlohmann::json& run, const char* key) {
  if (!run.contains(key)) return "?";
  return run[key].is_string() ? run[key].get<std::string>() : run[key].dump();
}

void changes_list(std::ostringstream& h, const std::string& title, const std::vector<Change>& changes, bool bad) {
  if (changes.empty()) return;
  h << "<h3" << (bad ? " class=\"bad\"" : "") << ">" << xml_escape(title) << " (" << changes.size() << ")</h3><ul>";
  for (std::size_t i = 0; i < changes.size() && i < kMaxListed; ++i)
    h << "<li><code>" << xml_escape(changes[i].key) << "</code>: " << xml_escape(changes[i].message) << "</li>";
  if (changes.size() > kMaxListed) h << "<li>... and " << changes.size() - kMaxListed << " more</li>";
  h << "</ul>";
}

void totals_table(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  h << "<table><tr><th>results</th><th>kind</th><th>cases</th><th>passed</th><th>incorrect</th><th>kernel_error</th>"
       "<th>waived</th><th>machine</th><th>CPU</th><th>GPU</th><th>compiler</th><th>build</th><th>commit</th></tr>";
  for (const ResultsDocument& d : docs) {
    std::map<std::string, int> n;
    for (const CaseEntry& c : d.cases) ++n[c.outcome];
    h << "<tr><td title=\"" << xml_escape(d.source) << "\">"
      << xml_escape(std::filesystem::path(d.source).filename().string()) << "</td><td>" << d.kind << "</td><td>" << d.cases.size() << "</td><td>"
      << n["passed"] << "</td><td" << (n["incorrect"] ? " class=\"bad\"" : "") << ">" << n["incorrect"] << "</td><td"
      << (n["kernel_error"] ? " class=\"bad\"" : "") << ">" << n["kernel_error"] << "</td><td>"
      << n["waived"] + n["not_verified"] << "</td>";
    for (const char* key : {"host", "cpu", "gpu", "compiler", "build_type", "git_commit"})
      h << "<td>" << xml_escape(run_value(d.run, key)) << "</td>";
    h << "</tr>";
  }
  h << "</table>";
}

void verify_sections(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  bool any = false;
  for (const ResultsDocument& d : docs) {
    if (d.kind != "verify") continue;
    if (!any) h << "<h2>Per-linear error, per checkpoint</h2>";
    any = true;
    const std::string model = d.detail.value("model", std::string("?"));
    const nlohmann::json verify = d.detail.value("verify", nlohmann::json::object());
    const nlohmann::json sqnr = verify.value("forward", nlohmann::json::object()).value("linear_sqnr_db", nlohmann::json::array());
    if (!sqnr.empty()) {
      // What varies from linear to linear: the W8A8 output's SQNR on real activations, worst first (the
      // weight error / bound is ≈ 1 for every linear by construction, and is in the table below).
      BarChart chart{model + ": W8A8 output SQNR per linear on the float model's activations, worst first",
                     "SQNR (dB): higher is better", {}, 0, ""};
      for (const nlohmann::json& l : sqnr)
        chart.bars.push_back({l.value("name", std::string("?")),
                              metric_from_json(l.value("sqnr_db", nlohmann::json("nan")), d.source), "dB"});
      h << bar_chart_svg(chart);
    } else {
      const double limit = verify.value("thresholds", nlohmann::json::object()).value("max_weight_error_over_bound", 1.0);
      BarChart chart{model + ": max |W - dequant(q)| / bound per linear",
                     "max error / bound (numerics.md §8; the dashed line is verify's pass limit)", {}, limit,
                     "verify's limit: the bound plus float slack"};
      for (const nlohmann::json& l : verify.value("linears", nlohmann::json::array()))
        chart.bars.push_back({l.value("name", std::string("?")),
                              metric_from_json(l.value("max_error_over_bound", nlohmann::json(0.0)), d.source),
                              "max |err| " + l.value("max_abs_error", nlohmann::json(0.0)).dump()});
      h << bar_chart_svg(chart);
    }
    const nlohmann::json profile = d.detail.value("activation_profile", nlohmann::json::array());
    if (profile.empty()) {
      h << "<p>No activation profile: pass <code>--stats</code> to <code>smoothcheck verify</code>.</p>";
      continue;
    }
    h << "<h2>Activation absmax per channel before and after smoothing: " << xml_escape(model) << "</h2><div class=\"grid\">";
    for (const nlohmann::json& p : profile) {
      ChannelProfile c;
      const nlohmann::json ratio = p.value("max_over_median", nlohmann::json::object());
      char title[400];
      std::snprintf(title, sizeof title, "%s input: max/median absmax %.3g before, %.3g after smoothing",
                    p.value("input", std::string("?")).c_str(),
                    metric_from_json(ratio.value("before", nlohmann::json("nan")), d.source + ": max_over_median"),
                    metric_from_json(ratio.value("after", nlohmann::json("nan")), d.source + ": max_over_median"));
      c.title = title;
      c.before = p.value("absmax_before", std::vector<double>{});
      c.after = p.value("absmax_after", std::vector<double>{});
      c.outliers = p.value("outliers", std::vector<std::size_t>{});
      h << channel_profile_svg(c);
    }
    h << "</div>";
  }
}

std::string fmt(double v, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// `sweep`'s page: the SQNR heat map (group × α, the chosen α outlined), the chosen α per layer, the
// whole-model figures of each choice, the sensitivity ranking, and the activation absmax before and
// after smoothing at the chosen α for the first layer's groups.
void sweep_sections(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  for (const ResultsDocument& d : docs) {
    if (d.kind != "sweep") continue;
    const std::string model = d.detail.value("model", std::string("?"));
    const nlohmann::json sweep = d.detail.value("sweep", nlohmann::json::object());
    const nlohmann::json groups = sweep.value("groups", nlohmann::json::array());
    h << "<h2>Alpha sweep: " << xml_escape(model) << " (engine " << xml_escape(sweep.value("engine", std::string("?")))
      << ", " << sweep.value("tokens", 0) << " calibration tokens)</h2><p>" << xml_escape(sweep.value("criterion", std::string()))
      << "</p>";
    HeatMap m{"W8A8 output SQNR per smoothing group and alpha", "SQNR (dB)", {}, {}, {}, {}};
    for (const nlohmann::json& g : groups) {
      const nlohmann::json points = g.value("points", nlohmann::json::array());
      if (m.columns.empty())
        for (const nlohmann::json& p : points) m.columns.push_back(fmt(p.value("alpha", -1.0), "%.2f"));
      m.rows.push_back(g.value("source", std::string("?")) + " -> " + g.value("fcs", std::vector<std::string>{"?"}).front());
      std::vector<double> row;
      int marked = -1;
      for (const nlohmann::json& p : points) {
        if (std::fabs(p.value("alpha", -1.0) - g.value("best_alpha", -2.0)) < 1e-6) marked = int(row.size());
        row.push_back(metric_from_json(p.value("sqnr_db", nlohmann::json("nan")), d.source));
      }
      m.values.push_back(row);
      m.marked.push_back(marked);
    }
    h << heat_map_svg(m);
    h << "<table><tr><th>layer</th><th>chosen alpha</th></tr>";
    // items() refers to its object: the object must outlive the loop (a temporary from value() does not).
    const nlohmann::json per_layer = sweep.value("best_per_layer", nlohmann::json::object());
    for (const auto& [layer, a] : per_layer.items())
      h << "<tr><td>" << xml_escape(layer) << "</td><td>" << fmt(a.get<double>(), "%.2f") << "</td></tr>";
    h << "<tr><td>global</td><td>" << fmt(sweep.value("best_global", -1.0), "%.2f") << "</td></tr></table>";
    const nlohmann::json whole = sweep.value("whole_model", nlohmann::json::object());
    if (!whole.empty()) {
      const bool logits = whole.value("measure", std::string("logits")) == "logits";
      h << "<h3>The choices on the whole model (" << whole.value("heldout_sequences", 0) << " held-out sequences, "
        << whole.value("heldout_tokens", 0) << " tokens)</h3><table><tr><th>choice</th>"
        << (logits ? "<th>NLL rise (nats/token)</th><th>KL mean</th><th>argmax agreement</th>"
                   : "<th>sentence-embedding cosine, mean</th><th>min</th>")
        << "</tr>";
      const nlohmann::json choices = whole.value("choices", nlohmann::json::object());
      for (const auto& [choice, f] : choices.items()) {
        h << "<tr><td>" << xml_escape(choice) << "</td>";
        if (logits)
          h << "<td>" << fmt(f.value("nll_increase", 0.0), "%+.4f") << "</td><td>" << fmt(f.value("mean_token_kl", 0.0), "%.4f")
            << "</td><td>" << fmt(100 * f.value("argmax_agreement", 0.0), "%.2f") << " %</td>";
        else
          h << "<td>" << fmt(f.value("mean_embedding_cosine", 0.0), "%.6f") << "</td><td>"
            << fmt(f.value("min_embedding_cosine", 0.0), "%.6f") << "</td>";
        h << "</tr>";
      }
      h << "</table>";
      // Sensitivity of the global choice's export: per layer, then per linear, worst first.
      const std::string loss = whole.value("loss", std::string("loss"));
      const nlohmann::json sensitivity = whole.value("sensitivity", nlohmann::json::object());
      for (const char* unit : {"layers", "linears"}) {
        BarChart bars{std::string("Sensitivity of the global choice's export: ") + loss + " with only this " +
                          (std::string(unit) == "layers" ? "layer" : "linear") + " in W8A8, worst first",
                      loss, {}, 0, ""};
        for (const nlohmann::json& u : sensitivity.value(unit, nlohmann::json::array())) {
          const nlohmann::json alone = u.value("alone", nlohmann::json::object()), all_but = u.value("all_but", nlohmann::json::object());
          bars.bars.push_back({u.value("name", std::string("?")), metric_from_json(alone.value("loss", nlohmann::json("nan")), d.source),
                               "all but these: " + all_but.value("loss", nlohmann::json(0.0)).dump()});
        }
        if (!bars.bars.empty()) h << bar_chart_svg(bars);
      }
    }
    h << "<div class=\"grid\">";
    int drawn = 0;
    for (const nlohmann::json& g : groups) {
      const std::vector<double> absmax = g.value("input_absmax", std::vector<double>{}), s = g.value("s_at_best", std::vector<double>{});
      if (absmax.empty() || s.size() != absmax.size() || drawn++ >= 3) continue;
      ChannelProfile c;
      c.title = g.value("source", std::string("?")) + ": input absmax before and after smoothing at alpha " +
                fmt(g.value("best_alpha", -1.0), "%.2f");
      c.before = absmax;
      for (std::size_t j = 0; j < absmax.size(); ++j) c.after.push_back(s[j] > 0 ? absmax[j] / s[j] : absmax[j]);
      std::vector<double> sorted = absmax;
      std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
      for (std::size_t j = 0; j < absmax.size(); ++j)
        if (absmax[j] >= kOutlierOverMedian * sorted[sorted.size() / 2]) c.outliers.push_back(j);
      h << channel_profile_svg(c);
    }
    h << "</div>";
  }
}

// Cases per number of off-by-one codes, in power-of-two bins.
void off_by_one_section(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  const std::vector<std::string> bins = {"0", "1", "2-3", "4-15", "16-63", "64-255", "256+"};
  auto bin_of = [](double n) -> std::size_t {
    if (n <= 0) return 0;
    if (n < 2) return 1;
    if (n < 4) return 2;
    if (n < 16) return 3;
    if (n < 64) return 4;
    if (n < 256) return 5;
    return 6;
  };
  std::map<std::string, std::vector<double>> kernels;  // "family / backend" -> cases per bin
  for (const ResultsDocument& d : docs) {
    if (d.kind != "run") continue;
    std::map<std::string, double> off_by_one_per_case;  // every code tensor of a case summed
    for (const CaseEntry& c : d.cases) {
      const std::string prefix = c.id() + "/";
      for (auto it = d.metrics.lower_bound(prefix); it != d.metrics.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        const std::string& k = it->first;
        if (k.size() >= 11 && k.compare(k.size() - 11, 11, "/off_by_one") == 0 && k.find('/', prefix.size()) == k.size() - 11)
          off_by_one_per_case[c.id()] += it->second;
      }
    }
    for (const CaseEntry& c : d.cases) {
      auto found = off_by_one_per_case.find(c.id());
      if (found == off_by_one_per_case.end()) continue;
      auto& counts = kernels[c.suite.substr(4)];  // "run/<family>/<backend>" -> "<family>/<backend>"
      counts.resize(bins.size());
      counts[bin_of(found->second)] += 1;
    }
  }
  if (kernels.empty()) return;
  h << "<h2>Off-by-one int8 codes per kernel</h2><p>Cases by the number of codes one off the reference at a rounding "
       "midpoint (allowed, counted and located by the comparison tier).</p><div class=\"grid\">";
  for (const auto& [kernel, counts] : kernels)
    h << histogram_svg({kernel, "off-by-one codes per case", "cases", bins, counts});
  h << "</div>";
}

void benchmark_section(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  std::map<std::string, BarChart> by_ceiling;  // counter name -> chart
  for (const ResultsDocument& d : docs) {
    if (d.kind != "benchmark") continue;
    for (const auto& [key, value] : d.metrics) {
      const std::size_t slash = key.rfind('/');
      const std::string counter = key.substr(slash + 1);
      if (counter.rfind("frac_", 0) != 0) continue;
      BarChart& chart = by_ceiling[counter];
      if (chart.title.empty())
        chart = {"benchmarks: " + counter, "fraction of the ceiling measured in the same run (median)", {}, 1.0, "the ceiling"};
      std::string name = key.substr(6, slash - 6);  // "bench/<name>/<counter>"
      const std::string suffix = "/real_time";
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        name.resize(name.size() - suffix.size());
      chart.bars.push_back({name, value, d.source});
    }
  }
  if (by_ceiling.empty()) return;
  h << "<h2>Benchmarks as fractions of their ceilings</h2>";
  for (const auto& [counter, chart] : by_ceiling) h << bar_chart_svg(chart);
}

void perf_table(std::ostringstream& h, const BaselineComparison& comparison) {
  if (comparison.perf.empty()) return;
  h << "<h2>Benchmarks against the baseline</h2><table><tr><th>benchmark</th><th>verdict</th><th>base median</th>"
       "<th>new median</th><th>why</th></tr>";
  for (const PerfComparison& c : comparison.perf)
    h << "<tr><td>" << xml_escape(c.name) << "</td><td" << (c.verdict == PerfVerdict::slower ? " class=\"bad\"" : "")
      << ">" << to_string(c.verdict) << "</td><td>" << c.base_median_ns << " ns</td><td>" << c.new_median_ns
      << " ns</td><td>" << xml_escape(c.why) << "</td></tr>";
  h << "</table>";
}

void failing_cases(std::ostringstream& h, const std::vector<ResultsDocument>& docs) {
  std::vector<const CaseEntry*> bad;
  for (const ResultsDocument& d : docs)
    for (const CaseEntry& c : d.cases)
      if (c.bad()) bad.push_back(&c);
  if (bad.empty()) return;
  h << "<h2 class=\"bad\">Incorrect cases (" << bad.size() << ")</h2><ul>";
  for (std::size_t i = 0; i < bad.size() && i < kMaxListed; ++i) {
    h << "<li><code>" << xml_escape(bad[i]->id()) << "</code> " << bad[i]->outcome;
    for (const std::string& f : bad[i]->failures) h << "<br>" << xml_escape(f);
    if (!bad[i]->reason.empty()) h << "<br>" << xml_escape(bad[i]->reason);
    h << "</li>";
  }
  h << "</ul>";
}

}  // namespace

std::string html_report(const std::vector<ResultsDocument>& docs, const BaselineComparison& comparison,
                        const RegressionRules& rules) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>smoothcheck report</title><style>"
    << kStyle << "</style>" << kErrorHook << "</head><body><pre id=\"script-errors\" hidden></pre>";
  h << "<h1>smoothcheck report</h1>";
  const std::size_t n = comparison.regressions.size();
  if (n) h << "<p class=\"bad\">" << n << " regression" << (n == 1 ? "" : "s") << "</p>";
  else h << "<p class=\"ok\">" << (comparison.have_baseline ? "No regressions against the baseline." : "No incorrect cases (no baseline).") << "</p>";
  changes_list(h, "Regressions", comparison.regressions, true);
  h << "<h2>Results</h2>";
  totals_table(h, docs);
  failing_cases(h, docs);
  verify_sections(h, docs);
  sweep_sections(h, docs);
  off_by_one_section(h, docs);
  benchmark_section(h, docs);
  perf_table(h, comparison);
  changes_list(h, "Improvements", comparison.improvements, false);
  changes_list(h, "Other changes", comparison.other_changes, false);
  h << "<h2>Rules</h2><p>" << xml_escape(regression_rules_text(rules)) << "</p></body></html>\n";
  return h.str();
}

}  // namespace smoothcheck::report
