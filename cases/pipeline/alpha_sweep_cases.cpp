// `sweep` on stories260K (issue 16): every group measured at every α, the choice the stated criterion's,
// the trade α makes between the weight's and the activation's error visible, and one point held against
// an independent path: quantize's export at α 0.5 run by verify's per-linear SQNR on the same tokens.
#include <algorithm>
#include <cmath>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"
#include "harness/pipeline/alpha_file.h"
#include "harness/pipeline/alpha_sweep.h"
#include "harness/pipeline/linear_sqnr.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/verify.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing::alpha_sweep {
namespace {

namespace fs = std::filesystem;

pipeline::SweepOptions small_sweep() {
  pipeline::SweepOptions o;
  o.engine = Engine::lmdeploy;
  o.alphas = pipeline::parse_alpha_grid("0:1:0.1");
  o.calibration.samples = 4;
  o.calibration.seq_len = 32;
  o.calibration.seed = 7;
  return o;
}

pipeline::SweepResult run_sweep(const fs::path& shared, const pipeline::SweepOptions& o);

// small_sweep()'s result, computed once per process: three cases read it.
const pipeline::SweepResult& small_sweep_result(const fs::path& shared) {
  static const pipeline::SweepResult r = run_sweep(shared, small_sweep());
  return r;
}

pipeline::SweepResult run_sweep(const fs::path& shared, const pipeline::SweepOptions& o) {
  const auto family = pipeline::open_model_family(stories_layout(shared, "hf"));
  const pipeline::CalibrationStats stats = pipeline::read_calibration_stats(small_stats(shared, "hf"), family->linears());
  return pipeline::sweep_alpha(cpu_backend(), *family, stats, o);
}

TEST(AlphaSweep, MeasuresEveryGroupAtEveryAlphaAndChoosesByTheStatedCriterion) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  pipeline::SweepOptions o = small_sweep();
  o.alpha_min = 0.3f;
  o.alpha_max = 0.6f;
  const pipeline::SweepResult r = run_sweep(shared, o);
  // lmdeploy's plan on stories260K: two norm groups and up -> down per layer (v -> o skipped: GQA).
  ASSERT_EQ(r.groups.size(), 15u);
  EXPECT_EQ(r.tokens, 4 * 32);
  for (const pipeline::GroupSweep& g : r.groups) {
    ASSERT_EQ(g.points.size(), 11u) << g.group.source;
    // The choice: within [0.3, 0.6], no point of that range with a higher SQNR.
    EXPECT_GE(g.best_alpha, 0.3f - 1e-6f);
    EXPECT_LE(g.best_alpha, 0.6f + 1e-6f);
    double best = -INFINITY, chosen = -INFINITY;
    for (const pipeline::SweepPoint& p : g.points) {
      if (p.alpha < 0.3f - 1e-6f || p.alpha > 0.6f + 1e-6f) continue;
      best = std::max(best, p.sqnr_db);
      if (std::fabs(p.alpha - g.best_alpha) < 1e-6f) chosen = p.sqnr_db;
    }
    EXPECT_EQ(chosen, best) << g.group.source;
    for (const pipeline::SweepPoint& p : g.points) {
      EXPECT_GT(p.cosine, 0.9) << g.group.source << " alpha " << p.alpha;
      EXPECT_NEAR(p.rel_mse, std::pow(10.0, -p.sqnr_db / 10), 1e-12) << g.group.source;
    }
  }
  const nlohmann::json alphas = pipeline::alphas_json(r);
  EXPECT_EQ(alphas["per_group"].size(), 15u);
  EXPECT_EQ(alphas["per_layer"].size(), 5u);
}

// α moves quantisation difficulty from the activations to the weights: from α 0 to α 1 the weight-only
// error grows and the activation-only error shrinks. A sweep whose s ignored α (or applied it to one side
// only) would show flat or one-sided curves.
TEST(AlphaSweep, AlphaTradesTheWeightsErrorForTheActivationsError) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const pipeline::SweepResult& r = small_sweep_result(shared);
  int traded = 0;
  for (const pipeline::GroupSweep& g : r.groups) {
    const pipeline::SweepPoint &lo = g.points.front(), &hi = g.points.back();
    if (hi.weight_only_sqnr_db < lo.weight_only_sqnr_db && hi.activation_only_sqnr_db > lo.activation_only_sqnr_db)
      ++traded;
  }
  EXPECT_EQ(traded, static_cast<int>(r.groups.size()));
}

// One point of the sweep against quantize + verify's path: the export at α 0.5 (lmdeploy, fused), its
// down_proj run by linear_output_sqnr on one sequence, and the sweep's up -> down group (whose only fc is
// down_proj, columns × s, input ÷ s, exactly what the export does) on the same sequence.
TEST(AlphaSweep, OnePointAgreesWithTheExportsPerLinearSqnr) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = stories_layout(shared, "hf");
  std::vector<int64_t> sequence = {1};
  for (int64_t i = 1; i < 48; ++i) sequence.push_back((i * 37) % 500 + 3);
  const fs::path tokens = process_scratch() / "sweep-one-sequence.json";
  std::ofstream(tokens) << nlohmann::json{{"sequences", {sequence}}}.dump();

  pipeline::QuantizeOptions q = pipeline::options_for_engine(Engine::lmdeploy);
  q.model = model;
  q.stats = small_stats(shared, "hf");
  q.out = process_scratch() / "sweep-export-a050";
  pipeline::quantize_and_export(cpu_backend(), q);

  const auto family = pipeline::open_model_family(model);
  const checkpoint::ModelDir exported = checkpoint::open_model_dir(q.out);
  const pipeline::QuantizationConfig qc = pipeline::require_export_quantization_config(exported.dir, exported.config_json);
  const models::LlamaModel original(family->checkpoint(), checkpoint::llama_config(checkpoint::open_model_dir(model)),
                                    DType::f32);
  const std::string down = "model.layers.2.mlp.down_proj";
  double verify_db = NAN;
  for (const pipeline::LinearSqnr& l :
       pipeline::linear_output_sqnr(original, family->checkpoint(), at::tensor(sequence, at::kLong), *exported.checkpoint,
                                    family->linears(), family->smoothing_groups(qc.mode, qc.fc_to_fc_pairs), qc,
                                    cpu_backend()))
    if (l.name == down) verify_db = l.sqnr_db;

  pipeline::SweepOptions o = small_sweep();
  o.alphas = {0.5f};
  o.calibration.tokens = tokens;
  double sweep_db = NAN;
  for (const pipeline::GroupSweep& g : run_sweep(shared, o).groups)
    if (g.group.fcs.front() == down) sweep_db = g.points.front().sqnr_db;
  ASSERT_TRUE(std::isfinite(verify_db) && std::isfinite(sweep_db)) << verify_db << " " << sweep_db;
  // The same quotients, codes and kernels: equal, not merely close (34.83 dB on this sequence).
  EXPECT_NEAR(sweep_db, verify_db, 1e-6);
}

// sweep's alphas.json round-trips: quantize --alpha-file records alpha_per_group and verify --stats
// re-derives every group's s with its own α; the same export with one group's recorded α changed fails
// migration_scale naming that group's fc; an alpha file of another recipe, or missing a group, is refused.
TEST(AlphaSweep, PerGroupAlphasRoundTripThroughQuantizeAndVerify) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = stories_layout(shared, "hf");
  const pipeline::SweepResult& sweep = small_sweep_result(shared);
  const fs::path file = process_scratch() / "sweep-alphas.json";
  std::ofstream(file) << pipeline::alphas_json(sweep).dump(2);
  const auto family = pipeline::open_model_family(model);
  pipeline::QuantizeOptions q = pipeline::options_for_engine(Engine::lmdeploy);
  const std::vector<SmoothingGroup> groups = family->smoothing_groups(q.mode, q.fc_to_fc_pairs);
  q.group_alphas = pipeline::read_alpha_file(file, groups, q.recipe, pipeline::AlphaChoice::group);
  ASSERT_EQ(q.group_alphas.size(), 15u);
  EXPECT_TRUE(std::any_of(q.group_alphas.begin(), q.group_alphas.end(), [](const auto& a) { return a.second != 0.5f; }));
  q.model = model;
  q.stats = small_stats(shared, "hf");
  q.out = process_scratch() / "sweep-per-group-export";
  pipeline::quantize_and_export(cpu_backend(), q);

  pipeline::VerifyOptions v;
  v.original = model;
  v.quantized = q.out;
  v.stats = q.stats;
  v.tokens = 64;
  const pipeline::VerifyReport r = pipeline::verify_export(cpu_backend(), v);
  EXPECT_TRUE(r.passed()) << (r.failures.empty() ? "" : r.failures.front());
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.quantization.group_alphas, q.group_alphas);

  // One group's recorded α moved by 0.1: its s no longer follows from the statistics.
  const SmoothingGroup& g = groups.front();
  const float moved = q.group_alphas.at(g.source) >= 0.5f ? q.group_alphas.at(g.source) - 0.1f : q.group_alphas.at(g.source) + 0.1f;
  v.quantized = write_edited_copy(q.out, read_checkpoint_tensors(q.out), "sweep-alpha-moved",
                                  [&](nlohmann::json& qc) { qc["alpha_per_group"][g.source] = moved; });
  v.forward = false;
  const pipeline::VerifyReport moved_report = pipeline::verify_export(cpu_backend(), v);
  bool named = false;
  for (const std::string& f : moved_report.failures)
    named = named || (f.rfind("migration_scale: " + g.fcs.front(), 0) == 0);
  EXPECT_TRUE(named) << (moved_report.failures.empty() ? "no failure" : moved_report.failures.front());

  EXPECT_THROW(pipeline::read_alpha_file(file, groups, Recipe::smoothquant, pipeline::AlphaChoice::group),
               checkpoint::CheckpointError);
  std::vector<SmoothingGroup> more = groups;
  more.push_back({"model.layers.9.input_layernorm", SourceKind::norm, {"model.layers.9.self_attn.q_proj"}});
  EXPECT_THROW(pipeline::read_alpha_file(file, more, q.recipe, pipeline::AlphaChoice::group), checkpoint::CheckpointError);
  EXPECT_EQ(pipeline::read_alpha_file(file, groups, q.recipe, pipeline::AlphaChoice::global).at(g.source), sweep.best_global);
}

TEST(AlphaSweep, RefusesAGridItCannotChooseFrom) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  pipeline::SweepOptions o = small_sweep();
  o.alphas = {};
  EXPECT_THROW(run_sweep(shared, o), std::invalid_argument);
  o.alphas = {0.5f, 1.5f};
  EXPECT_THROW(run_sweep(shared, o), std::invalid_argument);
  o.alphas = {0.1f, 0.2f};
  o.alpha_min = 0.5f;
  EXPECT_THROW(run_sweep(shared, o), std::invalid_argument);
  EXPECT_THROW(pipeline::parse_alpha_grid("1:0:0.1"), std::invalid_argument);
  EXPECT_THROW(pipeline::parse_alpha_grid("0:1"), std::invalid_argument);
  EXPECT_THROW(pipeline::parse_alpha_grid("0.1,x"), std::invalid_argument);
  EXPECT_EQ(pipeline::parse_alpha_grid("0:1:0.05").size(), 21u);
}

}  // namespace
}  // namespace smoothcheck::testing::alpha_sweep
