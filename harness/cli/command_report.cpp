// `smoothcheck report RESULTS.json... [--baseline BASE.json]... --out DIR [--fail-on-regression]`.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "harness/cli/arg_reader.h"
#include "harness/report/html_report.h"
#include "harness/report/junit_xml.h"
#include "harness/report/regression_rules.h"
#include "harness/report/results_document.h"
#include "harness/report/summary_markdown.h"
#include "harness/cli/commands.h"
#include "harness/differential/repro_writer.h"

namespace smoothcheck {

namespace {

const char* kReportUsage = R"(usage: smoothcheck report RESULTS.json... [--baseline BASE.json]... --out DIR
                         [--fail-on-regression]

Reads results documents (smoothcheck run --json, smoothcheck verify --json, smoothcheck perf record,
or Google Benchmark JSON directly) and writes into DIR:
  summary.md   short, for a CI job summary: the verdict, every regression first, totals, changes
  index.html   one self-contained page (inline SVG, no network): per-linear error / bound per
               checkpoint, activation absmax per channel before and after smoothing, off-by-one
               int8 codes per kernel, benchmarks as fractions of their ceilings
  junit.xml    the cases as JUnit XML (incorrect: failure, kernel_error: error, waived: skipped)

A regression, against the baseline documents: a new incorrect case; an err_over_bound metric more
than 5 % of its bound closer to the bound; a benchmark SLOWER by `smoothcheck perf compare`'s rule.
Without --baseline every incorrect case is a regression.

  --baseline FILE        a baseline results document; may repeat (e.g. reports/baselines/*.json)
  --out DIR              where the three files go (created; each file written atomically)
  --fail-on-regression   exit 1 when there is a regression (default: exit 0 whatever the results)
Exits 2 for bad arguments or an unreadable results file (named, with the problem).
)";

}  // namespace

int command_report(int argc, char** argv) {
  std::vector<std::string> inputs, baselines;
  std::filesystem::path out;
  bool fail_on_regression = false;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kReportUsage; return 0; }
    else if (arg == "--baseline") baselines.push_back(value());
    else if (arg == "--out") out = value();
    else if (arg == "--fail-on-regression") fail_on_regression = true;
    else if (!arg.empty() && arg[0] != '-') inputs.push_back(arg);
    else throw std::invalid_argument("unknown argument '" + arg + "'\n" + kReportUsage);
  }
  if (inputs.empty()) throw std::invalid_argument(std::string("no RESULTS.json given\n") + kReportUsage);
  if (out.empty()) throw std::invalid_argument(std::string("--out DIR is required\n") + kReportUsage);

  std::vector<report::ResultsDocument> now, base;
  for (const std::string& f : inputs) now.push_back(report::read_results_file(f));
  for (const std::string& f : baselines) base.push_back(report::read_results_file(f));
  const report::RegressionRules rules;
  const report::BaselineComparison comparison = report::compare_to_baseline(now, base, rules);

  std::filesystem::create_directories(out);
  write_file_atomically((out / "summary.md").string(), report::summary_markdown(now, comparison, rules));
  write_file_atomically((out / "index.html").string(), report::html_report(now, comparison, rules));
  write_file_atomically((out / "junit.xml").string(), report::junit_xml(now));

  std::cout << "report: " << comparison.regressions.size() << " regression(s)"
            << (comparison.have_baseline ? " against the baseline" : " (no baseline)") << "; wrote "
            << (out / "summary.md").string() << ", index.html, junit.xml\n";
  for (const report::Change& c : comparison.regressions) std::cout << "  REGRESSION " << c.key << ": " << c.message << "\n";
  return fail_on_regression && !comparison.regressions.empty() ? 1 : 0;
}

}  // namespace smoothcheck
