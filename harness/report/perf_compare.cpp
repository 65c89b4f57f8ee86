#include "harness/report/perf_compare.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "harness/report/mann_whitney.h"

namespace smoothcheck::report {

const char* to_string(PerfVerdict v) {
  switch (v) {
    case PerfVerdict::same: return "SAME";
    case PerfVerdict::faster: return "FASTER";
    case PerfVerdict::slower: return "SLOWER";
    case PerfVerdict::noisy: return "NOISY";
  }
  return "?";
}

PerfComparison compare_timings(const std::string& name, const std::vector<double>& base_ns,
                               const std::vector<double>& new_ns, const PerfRule& rule) {
  PerfComparison c;
  c.name = name;
  c.base_repetitions = base_ns.size();
  c.new_repetitions = new_ns.size();
  c.base_median_ns = median(base_ns);
  c.new_median_ns = median(new_ns);
  c.effect = c.new_median_ns / c.base_median_ns - 1;
  char text[160];
  if (base_ns.size() < rule.min_repetitions || new_ns.size() < rule.min_repetitions) {
    c.verdict = PerfVerdict::noisy;
    std::snprintf(text, sizeof text, "insufficient repetitions: %zu and %zu, the rule needs >= %zu each",
                  base_ns.size(), new_ns.size(), rule.min_repetitions);
    c.why = text;
    return c;
  }
  c.p_value = mann_whitney_u(base_ns, new_ns).p_two_sided;
  const bool significant = c.p_value < rule.alpha;
  const bool large = std::fabs(c.effect) >= rule.min_effect;
  if (!large) c.verdict = PerfVerdict::same;
  else if (significant) c.verdict = c.effect > 0 ? PerfVerdict::slower : PerfVerdict::faster;
  else c.verdict = PerfVerdict::noisy;
  std::snprintf(text, sizeof text, "p = %.4g %s %.2g, median %+.1f %% (min effect %.0f %%)", c.p_value,
                significant ? "<" : ">=", rule.alpha, 100 * c.effect, 100 * rule.min_effect);
  c.why = text;
  return c;
}

PerfComparisonSet compare_benchmarks(const std::vector<BenchmarkSeries>& base, const std::vector<BenchmarkSeries>& now,
                                     const PerfRule& rule) {
  PerfComparisonSet out;
  std::map<std::string, const BenchmarkSeries*> base_by_name;
  for (const BenchmarkSeries& s : base) base_by_name[s.name] = &s;
  std::map<std::string, bool> seen;
  for (const BenchmarkSeries& s : now) {
    seen[s.name] = true;
    auto it = base_by_name.find(s.name);
    if (it == base_by_name.end()) { out.only_in_new.push_back(s.name); continue; }
    if (!s.error.empty() || !it->second->error.empty()) {
      out.errors.push_back(s.name + ": " + (s.error.empty() ? "base run: " + it->second->error : s.error));
      continue;
    }
    out.compared.push_back(compare_timings(s.name, it->second->real_time_ns, s.real_time_ns, rule));
  }
  for (const BenchmarkSeries& s : base)
    if (!seen.count(s.name)) out.only_in_base.push_back(s.name);
  return out;
}

}  // namespace smoothcheck::report
