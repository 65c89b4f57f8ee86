// `smoothcheck report` finds what it claims to find: a deliberately less accurate kernel (a test-only
// mutant backend) run on real cases against a clean baseline is a regression that fails
// --fail-on-regression, and the same cases on the clean kernel are not; the bound-margin rule is
// checked on both sides of its margin; bad inputs are refused with the file named.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "cases/differential/mutant_backends.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"
#include "harness/report/regression_rules.h"
#include "harness/report/results_builders.h"
#include "harness/run_info.h"
#include "kernels/cpu/cpu_backend.h"
#include "report_test_support.h"

namespace smoothcheck::report {
namespace {

using testing::fresh_test_dir;
using testing::read_text;
using testing::run_command;
using testing::shell_quote;
using testing::smoothcheck_exe;

// The cases on which the half-away rounding mutant is wrong (exact rounding midpoints), written as
// `smoothcheck run --json` would: both documents label the backend "cpu", so their cases pair up.
void write_run_results(kernels::Backend& backend, const mutants::Mutant& mutant, const std::filesystem::path& file) {
  RunOptions options;
  options.filter = mutant.family + "/" + mutant.case_filter;
  RunResultsBuilder results(run_info(), options.filter, {"cpu"});
  run_families(registered_families(), backend, options, [&](const CaseReport& r) {
    results.add(r.family, r.case_name, "cpu", to_string(r.result.outcome), r.result.failures, r.result.reason,
                r.result.metrics, r.result.notes, r.repro_path);
  });
  write_results_file(file, results.finish());
}

std::string report_command(const std::filesystem::path& results, const std::filesystem::path& baseline,
                           const std::filesystem::path& out) {
  return smoothcheck_exe() + " report " + shell_quote(results.string()) + " --baseline " +
         shell_quote(baseline.string()) + " --out " + shell_quote(out.string()) + " --fail-on-regression";
}

TEST(ReportRegressions, LessAccurateKernelAgainstACleanBaselineFailsTheReport) {
  const auto dir = fresh_test_dir();
  const mutants::Mutant mutant = mutants::all_mutants().front();
  ASSERT_EQ(mutant.name, "half_away_rounding_where_half_even_is_required");
  auto clean = kernels::make_cpu_backend();
  auto wrong = mutant.make();
  write_run_results(*clean, mutant, dir / "baseline.json");
  write_run_results(*clean, mutant, dir / "clean.json");
  write_run_results(*wrong, mutant, dir / "mutant.json");

  const auto caught = run_command(report_command(dir / "mutant.json", dir / "baseline.json", dir / "mutant_report"));
  EXPECT_EQ(caught.exit_code, 1) << caught.output;
  EXPECT_NE(caught.output.find("REGRESSION run/quantize_per_token/cpu/"), std::string::npos) << caught.output;
  const std::string summary = read_text(dir / "mutant_report" / "summary.md");
  const auto regressions = summary.find("## Regressions"), totals = summary.find("## Totals");
  ASSERT_NE(regressions, std::string::npos) << summary;
  EXPECT_LT(regressions, totals) << "regressions must come first:\n" << summary;
  EXPECT_NE(summary.find("new incorrect case (passed -> incorrect)"), std::string::npos) << summary;
  EXPECT_NE(read_text(dir / "mutant_report" / "junit.xml").find("<failure"), std::string::npos);

  const auto passes = run_command(report_command(dir / "clean.json", dir / "baseline.json", dir / "clean_report"));
  EXPECT_EQ(passes.exit_code, 0) << passes.output;
  EXPECT_NE(read_text(dir / "clean_report" / "summary.md").find("No regressions against the baseline"), std::string::npos);
}

ResultsDocument one_metric(const std::string& key, double value) {
  ResultsDocument d;
  d.kind = "run";
  d.metrics[key] = value;
  d.cases.push_back({"run/f/cpu", "c", "passed", {}, {}});
  return d;
}

TEST(ReportRegressions, ErrorCloserToItsBoundBeyondTheMarginOnly) {
  const std::string key = "run/f/cpu/c/out/max_err_over_bound";
  const RegressionRules rules;  // margin 0.05 of the bound
  const auto base = std::vector<ResultsDocument>{one_metric(key, 0.50)};
  EXPECT_EQ(compare_to_baseline({one_metric(key, 0.56)}, base, rules).regressions.size(), 1u);
  EXPECT_TRUE(compare_to_baseline({one_metric(key, 0.54)}, base, rules).regressions.empty());
  EXPECT_TRUE(compare_to_baseline({one_metric(key, INFINITY)}, base, rules).regressions.size() == 1u);
  const auto better = compare_to_baseline({one_metric(key, 0.40)}, base, rules);
  EXPECT_TRUE(better.regressions.empty());
  EXPECT_EQ(better.improvements.size(), 1u);
  // Metrics that are not error / bound ratios never count as regressions.
  const std::string other = "run/f/cpu/c/q/off_by_one";
  const auto moved = compare_to_baseline({one_metric(other, 9)}, {one_metric(other, 1)}, rules);
  EXPECT_TRUE(moved.regressions.empty());
  EXPECT_EQ(moved.other_changes.size(), 1u);
}

TEST(ReportRegressions, WithoutABaselineEveryIncorrectCaseCounts) {
  ResultsDocument d = one_metric("k", 0);
  d.cases.push_back({"run/f/cpu", "broken", "incorrect", {"codes: 3 of 9 wrong"}, {}});
  d.cases.push_back({"run/f/cpu", "skipped", "waived", {}, "no CUDA device"});
  const auto c = compare_to_baseline({d}, {});
  ASSERT_EQ(c.regressions.size(), 1u);
  EXPECT_EQ(c.regressions[0].key, "run/f/cpu/broken");
}

TEST(ResultsDocument, RoundTripsThroughJsonIncludingInfinity) {
  ResultsDocument d = one_metric("run/f/cpu/c/out/max_err_over_bound", INFINITY);
  d.run = {{"cpu", "x"}};
  d.totals["run/f/cpu/passed"] = 1;
  const ResultsDocument back = parse_results_document(d.to_json(), "mem");
  EXPECT_TRUE(std::isinf(back.metrics.at("run/f/cpu/c/out/max_err_over_bound")));
  EXPECT_EQ(back.cases.size(), 1u);
  EXPECT_EQ(back.totals.at("run/f/cpu/passed"), 1);
}

TEST(ReportInputs, UnreadableOrWrongFilesAreRefusedByName) {
  const auto dir = fresh_test_dir();
  const auto missing = run_command(smoothcheck_exe() + " report " + shell_quote((dir / "nope.json").string()) + " --out " +
                                   shell_quote((dir / "out").string()));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("nope.json: cannot open"), std::string::npos) << missing.output;
  std::ofstream(dir / "torn.json") << "{\"schema\": \"smoothcheck.results/2\", \"kind\": ";
  const auto torn = run_command(smoothcheck_exe() + " report " + shell_quote((dir / "torn.json").string()) + " --out " +
                                shell_quote((dir / "out").string()));
  EXPECT_EQ(torn.exit_code, 2);
  EXPECT_NE(torn.output.find("torn.json: not valid JSON"), std::string::npos) << torn.output;
  std::ofstream(dir / "other.json") << "{\"schema\": \"smoothcheck.results/2\", \"kind\": \"run\", \"run\": {}}";
  const auto incomplete = run_command(smoothcheck_exe() + " report " + shell_quote((dir / "other.json").string()) +
                                      " --out " + shell_quote((dir / "out").string()));
  EXPECT_EQ(incomplete.exit_code, 2);
  EXPECT_NE(incomplete.output.find("other.json: missing \"metrics\""), std::string::npos) << incomplete.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "summary.md")) << "a failed report must write nothing";
}

}  // namespace
}  // namespace smoothcheck::report
