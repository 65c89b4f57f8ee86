// index.html renders in headless Chromium without a console message and is not blank: the report CI
// produces (SMOOTHCHECK_REPORT_HTML, from the report_ci_artifacts fixture) and a report drawn here
// from documents that exercise every chart. A page with a script error and a blank page must fail
// the same checks. Without chromium the tests skip with the reason, except under CI=true, where the
// set-up installs it and its absence is a failure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "harness/report/html_report.h"
#include "harness/report/regression_rules.h"
#include "harness/report/results_builders.h"
#include "headless_chromium.h"
#include "report_test_support.h"

namespace smoothcheck::testing {
namespace {

// A page is healthy when it wrote nothing to the console and at least 1 % of the viewport is drawn.
constexpr double kMinInkedFraction = 0.01;

std::string chromium_or_skip() {
  if (auto c = find_chromium()) return *c;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    ADD_FAILURE() << "chromium is not installed, and CI=true requires it (scripts/setup.sh installs it)";
    return {};
  }
  return {};
}

#define CHROMIUM_OR_SKIP(var)                                                                                 \
  const std::string var = chromium_or_skip();                                                                 \
  if (var.empty()) {                                                                                          \
    if (HasFailure()) return;                                                                                 \
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium, or scripts/setup.sh); outside CI " \
                    "the render test is skipped";                                                             \
  }

void expect_healthy_render(const std::string& chromium, const std::filesystem::path& html, const std::filesystem::path& png) {
  const RenderResult r = render_page(chromium, html, png);
  ASSERT_TRUE(r.screenshot_written) << "no screenshot of " << html << ":\n" << r.browser_output;
  for (const std::string& line : r.console) ADD_FAILURE() << html << " wrote to the console: " << line;
  EXPECT_GT(r.inked_fraction, kMinInkedFraction) << html << " renders blank (screenshot " << png << ")";
}

report::ResultsDocument chart_exercising_documents_verify() {
  report::ResultsDocument v;
  v.source = "verify.json";
  v.kind = "verify";
  std::vector<double> before, after;
  for (int j = 0; j < 64; ++j) {
    before.push_back(j % 17 == 3 ? 60.0 : 1.0 + 0.01 * j);
    after.push_back(before.back() / (j % 17 == 3 ? 20.0 : 0.8));
  }
  v.detail = {{"model", "synthetic/hf"},
              {"verify", {{"linears", {{{"name", "model.layers.0.self_attn.q_proj"}, {"max_error_over_bound", 0.9998}},
                                       {{"name", "model.layers.0.mlp.down_proj"}, {"max_error_over_bound", 1.7}}}}}},
              {"activation_profile",
               {{{"input", "model.layers.0.self_attn.q_proj"}, {"absmax_before", before}, {"absmax_after", after},
                 {"outliers", {3, 20, 37, 54}}, {"max_over_median", {{"before", 59.0}, {"after", 3.1}}}}}}};
  return v;
}

TEST(ChromiumRender, ReportWithEveryChartRendersCleanly) {
  CHROMIUM_OR_SKIP(chromium);
  report::ResultsDocument run;
  run.source = "run.json";
  run.kind = "run";
  run.cases = {{"run/quantize_per_token/cpu", "a", "passed", {}, {}}, {"run/quantize_per_token/cpu", "b", "incorrect", {"codes: 1 wrong"}, {}}};
  run.metrics = {{"run/quantize_per_token/cpu/a/q/off_by_one", 3}, {"run/quantize_per_token/cpu/b/q/off_by_one", 0}};
  report::ResultsDocument bench;
  bench.source = "bench.json";
  bench.kind = "benchmark";
  bench.metrics = {{"bench/quantize_per_token/tokens:4096/real_time/frac_copy_bw", 0.74},
                   {"bench/gemm_w8a8/M:512/real_time/frac_torch_int8", 0.61}};
  // A sweep's heat map, choices and sensitivity bars (results_from_sweep of a small sweep.json).
  const nlohmann::json sweep = {
      {"schema", "smoothcheck.sweep/1"}, {"model", "synthetic/hf"}, {"engine", "lmdeploy"}, {"best_global", 0.5},
      {"best_per_layer", {{"model.layers.0.", 0.5}}},
      {"groups", {{{"source", "model.layers.0.input_layernorm"}, {"fcs", {"model.layers.0.self_attn.q_proj"}},
                   {"best_alpha", 0.5}, {"input_absmax", {1.0, 9.0, 1.5}}, {"s_at_best", {1.0, 3.0, 1.2}},
                   {"points", {{{"alpha", 0.0}, {"sqnr_db", 38.0}}, {{"alpha", 0.5}, {"sqnr_db", 41.5}}, {{"alpha", 1.0}, {"sqnr_db", 39.0}}}}}}},
      {"whole_model", {{"measure", "logits"}, {"loss", "per-token KL mean (nats)"}, {"heldout_sequences", 1}, {"heldout_tokens", 64},
                       {"choices", {{"per group", {{"nll_increase", 0.01}, {"mean_token_kl", 0.05}, {"argmax_agreement", 0.9}, {"loss", 0.05}}}}},
                       {"sensitivity", {{"layers", {{{"name", "model.layers.0."}, {"alone", {{"loss", 0.03}}}, {"all_but", {{"loss", 0.02}}}}}},
                                        {"linears", {{{"name", "model.layers.0.self_attn.q_proj"}, {"alone", {{"loss", 0.004}}},
                                                      {"all_but", {{"loss", 0.04}}}}}}}}}}};
  const std::vector<report::ResultsDocument> docs = {run, chart_exercising_documents_verify(), bench,
                                                     report::results_from_sweep(sweep, "sweep.json")};
  const auto comparison = report::compare_to_baseline(docs, {});
  const auto dir = fresh_test_dir();
  std::ofstream(dir / "index.html") << report::html_report(docs, comparison, {});
  expect_healthy_render(chromium, dir / "index.html", dir / "index.png");
}

TEST(ChromiumRender, ReportProducedByCi) {
  const char* html = std::getenv("SMOOTHCHECK_REPORT_HTML");
  if (!html) GTEST_SKIP() << "SMOOTHCHECK_REPORT_HTML is not set (ctest sets it to the report_ci_artifacts fixture's page)";
  CHROMIUM_OR_SKIP(chromium);
  ASSERT_TRUE(std::filesystem::exists(html)) << html << " does not exist: the report_ci_artifacts fixture did not write it";
  std::filesystem::path png = std::filesystem::path(html).replace_extension(".png");
  expect_healthy_render(chromium, html, png);
}

TEST(ChromiumRender, ScriptErrorAndBlankPageAreCaught) {
  CHROMIUM_OR_SKIP(chromium);
  const auto dir = fresh_test_dir();
  std::ofstream(dir / "broken.html") << "<!DOCTYPE html><html><body><h1>charts</h1><svg width=\"400\" height=\"300\">"
                                        "<rect width=\"400\" height=\"300\" fill=\"#2e86c1\"/></svg>"
                                        "<script>drawCharts();</script></body></html>";
  const RenderResult broken = render_page(chromium, dir / "broken.html", dir / "broken.png");
  ASSERT_EQ(broken.console.size(), 1u) << broken.browser_output;
  EXPECT_NE(broken.console[0].find("drawCharts is not defined"), std::string::npos) << broken.console[0];
  EXPECT_GT(broken.inked_fraction, kMinInkedFraction);

  std::ofstream(dir / "blank.html") << "<!DOCTYPE html><html><body></body></html>";
  const RenderResult blank = render_page(chromium, dir / "blank.html", dir / "blank.png");
  ASSERT_TRUE(blank.screenshot_written) << blank.browser_output;
  EXPECT_TRUE(blank.console.empty());
  EXPECT_LE(blank.inked_fraction, kMinInkedFraction);
}

}  // namespace
}  // namespace smoothcheck::testing
