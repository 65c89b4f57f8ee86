// `sweep` on all-MiniLM-L6-v2 (issue 16, label checkpoint): BERT is swept in migration mode (the only
// exact one for a post-LayerNorm model), every group at every α; the choices are judged on held-out
// chunks of the corpus by sentence-embedding cosine, the sensitivity ranked by linear and by layer; and
// the per-group α round-trips through quantize --alpha-file and verify.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include "bert_test_support.h"
#include "harness/backends.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/alpha_choice_comparison.h"
#include "harness/pipeline/alpha_file.h"
#include "harness/pipeline/alpha_sweep.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/verify.h"

namespace smoothcheck::pipeline {
namespace {

namespace fs = std::filesystem;

kernels::Backend& sweep_backend() {
  static std::unique_ptr<kernels::Backend> b = make_backend("cpu");
  return *b;
}

// Small enough for ctest (and ASan): 6 chunks of at most 48 tokens, a 5-point grid.
struct SweepFixture {
  fs::path minilm;
  testing::TempDir scratch;
  fs::path stats;
  SweepResult sweep;
};

SweepFixture& sweep_fixture(const fs::path& minilm) {
  static std::unique_ptr<SweepFixture> f;
  if (!f) {
    f = std::make_unique<SweepFixture>();
    f->minilm = minilm;
    SweepOptions o;
    o.engine = Engine::lmdeploy;
    o.alphas = parse_alpha_grid("0:1:0.25");
    o.calibration.samples = 6;
    o.calibration.seq_len = 48;
    const auto family = open_model_family(minilm);
    const CalibrationStats stats = family->calibrate(sweep_backend(), o.calibration, {});
    f->stats = f->scratch / "stats.safetensors";
    write_calibration_stats(f->stats, stats);
    f->sweep = sweep_alpha(sweep_backend(), *family, stats, o);
  }
  return *f;
}

TEST(MiniLMSweep, EveryGroupIsMeasuredInMigrationModeAtEveryAlpha) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const SweepResult& r = sweep_fixture(minilm).sweep;
  EXPECT_EQ(r.mode, SmoothMode::migration);
  // Per layer: the q/k/v input, v -> attention.output.dense, the attention LayerNorm -> intermediate,
  // intermediate -> output.dense.
  ASSERT_EQ(r.groups.size(), 24u);
  EXPECT_GT(r.tokens, 6 * 24);
  int weights_worse = 0;
  for (const GroupSweep& g : r.groups) {
    ASSERT_EQ(g.points.size(), 5u) << g.group.source;
    for (const SweepPoint& p : g.points) {
      EXPECT_TRUE(std::isfinite(p.sqnr_db) && p.sqnr_db > 10) << g.group.source << " at " << p.alpha << ": " << p.sqnr_db;
      EXPECT_LE(p.cosine, 1.0);
    }
    EXPECT_TRUE(std::any_of(g.points.begin(), g.points.end(), [&](const SweepPoint& p) { return p.alpha == g.best_alpha; }));
    // α = 1 divides every channel by its own absmax: the activations' half of the error always shrinks.
    const SweepPoint &lo = g.points.front(), &hi = g.points.back();
    EXPECT_GT(hi.activation_only_sqnr_db, lo.activation_only_sqnr_db) << g.group.source;
    if (hi.weight_only_sqnr_db < lo.weight_only_sqnr_db) ++weights_worse;
  }
  // The weights' half grows in all but one group: layer 0's intermediate -> output.dense gains on both
  // sides (weight-only 35.5 -> 36.2 dB from α 0 to 1 on this calibration). Both halves are output errors:
  // the weights' rounding error reaches the output multiplied by x / s, so a group can gain on both.
  EXPECT_GE(weights_worse, static_cast<int>(r.groups.size()) - 1);
  EXPECT_EQ(r.best_per_layer.size(), 6u);
}

TEST(MiniLMSweep, TheChoicesAndTheSensitivityAreJudgedOnHeldOutText) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  SweepFixture& f = sweep_fixture(minilm);
  const auto family = open_model_family(minilm);
  HeldOutOptions h;
  h.sequences = 2;
  h.tokens = 32;
  const AlphaChoiceComparison c =
      compare_alpha_choices(sweep_backend(), *family, minilm, f.stats, f.sweep, f.scratch / "exports", h);
  EXPECT_EQ(c.measure, ForwardComparison::sentence_embeddings);
  EXPECT_EQ(c.heldout_sequences, 2);
  ASSERT_EQ(c.choices.size(), 5u);
  for (const ChoiceFigures& choice : c.choices) {
    EXPECT_GT(choice.figures.min_embedding_cosine, 0.95) << choice.choice;
    EXPECT_LT(choice.figures.mean_embedding_cosine, 1.0) << choice.choice;  // W8A8 is not the float model
    std::cout << "[ figures  ] " << choice.choice << ": cosine mean " << choice.figures.mean_embedding_cosine << ", min "
              << choice.figures.min_embedding_cosine << "\n";
  }
  ASSERT_EQ(c.sensitivity.linears.size(), 36u);
  ASSERT_EQ(c.sensitivity.layers.size(), 6u);
  // The ranking's "all" is the global choice's export in W8A8 on the same sequences: the same figures.
  EXPECT_EQ(c.sensitivity.all.mean_embedding_cosine, c.choices[2].figures.mean_embedding_cosine);
  for (std::size_t i = 1; i < c.sensitivity.linears.size(); ++i)
    EXPECT_GE(c.sensitivity.linears[i - 1].alone.loss(), c.sensitivity.linears[i].alone.loss());
  // One linear alone costs less than the whole model in W8A8, and all but one layer less than all.
  EXPECT_LT(c.sensitivity.linears.front().alone.loss(), c.sensitivity.all.loss());
  for (const Sensitivity& s : c.sensitivity.layers) {
    EXPECT_EQ(s.linears.size(), 6u) << s.name;
    EXPECT_LT(s.all_but.loss(), c.sensitivity.all.loss()) << s.name;
  }
  std::cout << "[ figures  ] worst layer " << c.sensitivity.layers.front().name << ", worst linear "
            << c.sensitivity.linears.front().name << "\n";
}

TEST(MiniLMSweep, PerGroupAlphasRoundTripThroughQuantizeAndVerify) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  SweepFixture& f = sweep_fixture(minilm);
  const fs::path file = f.scratch / "alphas.json";
  std::ofstream(file) << alphas_json(f.sweep).dump(2);
  const auto family = open_model_family(minilm);
  QuantizeOptions q = options_for_engine(Engine::lmdeploy);
  q.mode = SmoothMode::migration;
  q.group_alphas = read_alpha_file(file, family->smoothing_groups(q.mode, q.fc_to_fc_pairs), q.recipe, AlphaChoice::group);
  ASSERT_EQ(q.group_alphas.size(), 24u);
  q.model = minilm;
  q.stats = f.stats;
  q.out = f.scratch / "per-group";
  quantize_and_export(sweep_backend(), q);
  VerifyOptions v;
  v.original = minilm;
  v.quantized = q.out;
  v.stats = q.stats;
  v.sentences = 2;
  v.seq_len = 48;
  const VerifyReport r = verify_export(sweep_backend(), v);
  EXPECT_TRUE(r.passed()) << (r.failures.empty() ? "" : r.failures.front());
  EXPECT_EQ(r.quantization.group_alphas, q.group_alphas);
}

}  // namespace
}  // namespace smoothcheck::pipeline
