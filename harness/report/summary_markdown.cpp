#include "harness/report/summary_markdown.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

namespace smoothcheck::report {

namespace {

constexpr std::size_t kMaxRegressionLines = 40;
constexpr std::size_t kMaxOtherLines = 15;

// Markdown table cells must not contain '|' or newlines.
std::string cell(std::string s) {
  for (char& ch : s)
    if (ch == '|' || ch == '\n') ch = ' ';
  return s;
}

void list(std::ostringstream& md, const std::vector<Change>& changes, std::size_t cap) {
  for (std::size_t i = 0; i < changes.size() && i < cap; ++i)
    md << "- `" << cell(changes[i].key) << "`: " << cell(changes[i].message) << "\n";
  if (changes.size() > cap) md << "- ... and " << changes.size() - cap << " more (index.html lists them)\n";
}

std::string run_field(const nlohmann::json& run, const char* key) {
  if (!run.contains(key)) return "?";
  return run[key].is_string() ? run[key].get<std::string>() : run[key].dump();
}

}  // namespace

std::string summary_markdown(const std::vector<ResultsDocument>& docs, const BaselineComparison& comparison,
                             const RegressionRules& rules) {
  std::ostringstream md;
  md << "# smoothcheck report\n\n";
  const std::size_t n = comparison.regressions.size();
  if (n) md << "**" << n << " regression" << (n == 1 ? "" : "s") << (comparison.have_baseline ? " against the baseline" : " (no baseline: every incorrect case counts)") << "**\n\n";
  else if (comparison.have_baseline) md << "**No regressions against the baseline.**\n\n";
  else md << "**No incorrect cases** (no baseline given: nothing to compare).\n\n";

  if (n) {
    md << "## Regressions\n\n";
    list(md, comparison.regressions, kMaxRegressionLines);
    md << "\n";
  }

  md << "## Totals\n\n| results | kind | cases | passed | incorrect | kernel_error | waived | machine | commit |\n"
        "|---|---|---:|---:|---:|---:|---:|---|---|\n";
  for (const ResultsDocument& d : docs) {
    std::map<std::string, int> by_outcome;
    for (const CaseEntry& c : d.cases) ++by_outcome[c.outcome];
    md << "| " << cell(std::filesystem::path(d.source).filename().string()) << " | " << d.kind << " | " << d.cases.size() << " | " << by_outcome["passed"] << " | "
       << by_outcome["incorrect"] << " | " << by_outcome["kernel_error"] << " | "
       << by_outcome["waived"] + by_outcome["not_verified"] << " | " << cell(run_field(d.run, "cpu")) << " | "
       << cell(run_field(d.run, "git_commit")) << " |\n";
  }
  md << "\n";

  if (comparison.have_baseline) {
    if (!comparison.improvements.empty()) {
      md << "## Improvements (" << comparison.improvements.size() << ")\n\n";
      list(md, comparison.improvements, kMaxOtherLines);
      md << "\n";
    }
    if (!comparison.other_changes.empty()) {
      md << "## Other changes (" << comparison.other_changes.size() << ")\n\n";
      list(md, comparison.other_changes, kMaxOtherLines);
      md << "\n";
    }
  }
  md << regression_rules_text(rules) << "\n";
  return md.str();
}

}  // namespace smoothcheck::report
