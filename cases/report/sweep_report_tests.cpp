// `smoothcheck report sweep.json` (issue 16): the sweep's document becomes metrics (the chosen α and its
// SQNR per group; each whole-model choice's NLL rise and KL) and a page with the heat map (one cell per
// group and α, the chosen one outlined), the chosen α per layer, the choices and the sensitivity bars.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "harness/report/html_report.h"
#include "harness/report/regression_rules.h"
#include "harness/report/results_builders.h"
#include "harness/report/results_document.h"
#include "report_test_support.h"

namespace smoothcheck::testing {
namespace {

// A sweep.json as `smoothcheck sweep --whole-model --out` writes it, two groups by three alphas.
nlohmann::json synthetic_sweep() {
  const auto points = [](double a, double b, double c) {
    return nlohmann::json::array({{{"alpha", 0.0}, {"sqnr_db", a}}, {{"alpha", 0.5}, {"sqnr_db", b}}, {{"alpha", 1.0}, {"sqnr_db", c}}});
  };
  return {{"schema", "smoothcheck.sweep/1"},
          {"model", "/some/where/stories260K/hf"},
          {"engine", "lmdeploy"},
          {"tokens", 128},
          {"criterion", "highest SQNR"},
          {"best_global", 0.5},
          {"best_per_layer", {{"model.layers.0.", 0.5}}},
          {"groups",
           {{{"source", "model.layers.0.input_layernorm"}, {"fcs", {"model.layers.0.self_attn.q_proj"}}, {"best_alpha", 0.5},
             {"points", points(38.0, 41.5, 39.0)}, {"input_absmax", {1.0, 9.0, 1.5}}, {"s_at_best", {1.0, 3.0, 1.2}}},
            {{"source", "model.layers.0.mlp.up_proj"}, {"fcs", {"model.layers.0.mlp.down_proj"}}, {"best_alpha", 1.0},
             {"points", points(35.0, 36.0, 36.5)}}}},
          {"whole_model",
           {{"measure", "logits"},
            {"loss", "per-token KL mean (nats)"},
            {"heldout_sequences", 2},
            {"heldout_tokens", 64},
            {"choices", {{"per group", {{"nll_increase", 0.01}, {"mean_token_kl", 0.05}, {"argmax_agreement", 0.9}, {"loss", 0.05}}},
                         {"unsmoothed", {{"nll_increase", 0.03}, {"mean_token_kl", 0.07}, {"argmax_agreement", 0.8}, {"loss", 0.07}}}}},
            {"sensitivity",
             {{"layers", {{{"name", "model.layers.0."}, {"alone", {{"loss", 0.03}}}, {"all_but", {{"loss", 0.02}}}}}},
              {"linears", {{{"name", "model.layers.0.self_attn.q_proj"}, {"alone", {{"loss", 0.004}}}, {"all_but", {{"loss", 0.04}}}}}}}}}}};
}

// MiniLM's sweep judges the choices by sentence-embedding cosine: the page's table says so.
nlohmann::json synthetic_encoder_sweep() {
  nlohmann::json j = synthetic_sweep();
  j["model"] = "/some/where/minilm";
  j["whole_model"]["measure"] = "sentence_embeddings";
  j["whole_model"]["loss"] = "1 - sentence-embedding cosine (mean)";
  j["whole_model"]["choices"] = {{"per group", {{"mean_embedding_cosine", 0.9991}, {"min_embedding_cosine", 0.998}, {"loss", 0.0009}}}};
  return j;
}

TEST(SweepReport, TheSweepDocumentBecomesMetricsAndAPageWithItsCharts) {
  const auto dir = fresh_test_dir();
  std::ofstream(dir / "sweep.json") << synthetic_sweep().dump();
  const report::ResultsDocument d = report::read_results_file(dir / "sweep.json");
  EXPECT_EQ(d.kind, "sweep");
  EXPECT_EQ(d.metrics.at("sweep/stories260K/hf/model.layers.0.input_layernorm/best_alpha"), 0.5);
  EXPECT_EQ(d.metrics.at("sweep/stories260K/hf/model.layers.0.input_layernorm/sqnr_db_at_best"), 41.5);
  EXPECT_EQ(d.metrics.at("sweep/stories260K/hf/model.layers.0.mlp.up_proj/sqnr_db_at_best"), 36.5);
  EXPECT_EQ(d.metrics.at("sweep/stories260K/hf/whole_model/unsmoothed/mean_token_kl"), 0.07);
  const std::string page = report::html_report({d}, report::compare_to_baseline({d}, {}), {});
  EXPECT_NE(page.find("W8A8 output SQNR per smoothing group and alpha"), std::string::npos);
  // Six cells, the chosen one of each row outlined, and its tooltip saying so.
  std::size_t cells = 0, outlined = 0;
  for (std::size_t at = page.find("<rect x="); at != std::string::npos; at = page.find("<rect x=", at + 1)) {
    const std::string rect = page.substr(at, page.find("</rect>", at) - at);
    if (rect.find("SQNR (dB)") == std::string::npos) continue;
    ++cells;
    if (rect.find("stroke=\"#c0392b\"") != std::string::npos) {
      ++outlined;
      EXPECT_NE(rect.find("(chosen)"), std::string::npos);
    }
  }
  EXPECT_EQ(cells, 6u);
  EXPECT_EQ(outlined, 2u);
  EXPECT_NE(page.find("The choices on the whole model (2 held-out sequences, 64 tokens)"), std::string::npos);
  EXPECT_NE(page.find("<th>NLL rise (nats/token)</th>"), std::string::npos);
  EXPECT_NE(page.find("per-token KL mean (nats) with only this layer in W8A8"), std::string::npos);
  EXPECT_NE(page.find("per-token KL mean (nats) with only this linear in W8A8"), std::string::npos);
  EXPECT_NE(page.find("input absmax before and after smoothing at alpha 0.50"), std::string::npos);
}

TEST(SweepReport, AnEncodersChoicesAreShownAsEmbeddingCosines) {
  const auto dir = fresh_test_dir();
  std::ofstream(dir / "sweep.json") << synthetic_encoder_sweep().dump();
  const report::ResultsDocument d = report::read_results_file(dir / "sweep.json");
  EXPECT_EQ(d.metrics.at("sweep/where/minilm/whole_model/per group/mean_embedding_cosine"), 0.9991);
  EXPECT_EQ(d.metrics.count("sweep/where/minilm/whole_model/per group/nll_increase"), 0u);
  const std::string page = report::html_report({d}, report::compare_to_baseline({d}, {}), {});
  EXPECT_NE(page.find("<th>sentence-embedding cosine, mean</th>"), std::string::npos);
  EXPECT_EQ(page.find("NLL rise"), std::string::npos);
  EXPECT_NE(page.find("0.999100"), std::string::npos);
  EXPECT_NE(page.find("1 - sentence-embedding cosine (mean) with only this linear in W8A8"), std::string::npos);
}

}  // namespace
}  // namespace smoothcheck::testing
