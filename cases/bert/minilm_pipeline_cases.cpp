// calibrate -> quantize -> verify on all-MiniLM-L6-v2 (label checkpoint): migration mode with every
// recipe passes verify; fused mode is refused as an invalid mapping, leaving nothing behind; the I64
// position_ids travel byte for byte; and each check is shown to fail on a deliberately broken export
// (a differing key scale, a flipped weight code, smoothing claimed but not applied, the runtime division
// left out).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>

#include "bert_test_support.h"
#include "harness/backends.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/models/bert.h"
#include "harness/pipeline/bert_calibrate.h"
#include "harness/pipeline/bert_layout.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/verify.h"
#include "harness/pipeline/w8a8_linears.h"

namespace smoothcheck {
// gtest prints a Recipe parameter by its name rather than as raw bytes.
static void PrintTo(Recipe r, std::ostream* os) { *os << to_string(r); }
}  // namespace smoothcheck

namespace smoothcheck::pipeline {
namespace {

namespace fs = std::filesystem;

kernels::Backend& backend() {
  static std::unique_ptr<kernels::Backend> b = make_backend("cpu");
  return *b;
}

// Small enough for ctest: 12 chunks of at most 64 tokens calibrate, 4 held-out chunks verify.
constexpr int64_t kSeqLen = 64;

struct Fixture {
  fs::path minilm;
  testing::TempDir scratch;
  fs::path stats;
};

// One calibration per process, shared by the cases.
Fixture& fixture(const fs::path& minilm) {
  static std::unique_ptr<Fixture> f;
  if (!f) {
    f = std::make_unique<Fixture>();
    f->minilm = minilm;
    CalibrationOptions o;
    o.samples = 12;
    o.seq_len = kSeqLen;
    const CalibrationStats stats = open_model_family(minilm)->calibrate(backend(), o, {});
    f->stats = f->scratch / "stats.safetensors";
    write_calibration_stats(f->stats, stats);
  }
  return *f;
}

QuantizeOptions options(const Fixture& f, const fs::path& out, Recipe recipe) {
  QuantizeOptions o;
  o.model = f.minilm;
  o.stats = f.stats;
  o.out = out;
  o.recipe = recipe;
  o.mode = SmoothMode::migration;
  return o;
}

VerifyReport verify(const Fixture& f, const fs::path& quantized) {
  VerifyOptions v;
  v.original = f.minilm;
  v.quantized = quantized;
  v.sentences = 4;
  v.seq_len = kSeqLen;
  return verify_export(backend(), v);
}

std::string failures(const VerifyReport& r) {
  std::string s;
  for (const auto& f : r.failures) s += f + "\n";
  return s;
}

class MiniLMPipeline : public ::testing::TestWithParam<Recipe> {};

TEST_P(MiniLMPipeline, MigrationExportVerifies) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  Fixture& f = fixture(minilm);
  const auto before = fs::last_write_time(minilm / "model.safetensors");
  const fs::path out = f.scratch / (std::string("q-") + to_string(GetParam()));
  const ExportSummary s = quantize_and_export(backend(), options(f, out, GetParam()));
  EXPECT_EQ(s.linears, 36);
  EXPECT_EQ(s.total_size, static_cast<uint64_t>(s.expected_total_size));
  EXPECT_EQ(fs::last_write_time(minilm / "model.safetensors"), before) << "the input was touched";

  const VerifyReport r = verify(f, out);
  EXPECT_TRUE(r.passed()) << failures(r);
  EXPECT_EQ(r.family, "bert");
  EXPECT_EQ(r.linears.size(), 36u);
  EXPECT_EQ(r.sentences, 4);
  EXPECT_GE(r.min_embedding_cosine, r.thresholds.min_embedding_cosine);
  EXPECT_EQ(r.declared_total_size, r.stored_total_size);

  // position_ids, the I64 buffer, is carried over byte for byte.
  const auto orig = checkpoint::open_checkpoint(minilm / "model.safetensors")->opaque_tensors();
  const auto got = checkpoint::open_checkpoint(out)->opaque_tensors();
  ASSERT_EQ(orig.size(), 1u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "embeddings.position_ids");
  EXPECT_EQ(got[0].bytes, orig[0].bytes);
}

INSTANTIATE_TEST_SUITE_P(Recipes, MiniLMPipeline,
                         ::testing::Values(Recipe::smoothquant, Recipe::lmdeploy, Recipe::llmcompressor),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// Every engine profile (kernels/engine_profiles.h) on MiniLM: `quantize --engine E` (BERT: migration
// mode, smoothcheck's own groups) records the profile, and verify re-derives with it and runs its runtime.
TEST(MiniLMEngines, EveryEngineRoundTripsThroughVerify) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  Fixture& f = fixture(minilm);
  for (Engine engine : {Engine::lmdeploy, Engine::smoothquant, Engine::llmcompressor}) {
    QuantizeOptions o = options_for_engine(engine);
    o.model = f.minilm;
    o.stats = f.stats;
    o.out = f.scratch / (std::string("engine-") + to_string(engine));
    o.mode = SmoothMode::migration;
    quantize_and_export(backend(), o);
    const QuantizationConfig qc = *read_quantization_config(o.out / "config.json");
    EXPECT_EQ(qc.engine, engine);
    EXPECT_EQ(qc.weight_variant, engine_profile(engine).weight);
    EXPECT_EQ(qc.epilogue, engine_profile(engine).epilogue);
    const VerifyReport r = verify(f, o.out);
    EXPECT_TRUE(r.passed()) << to_string(engine) << ":\n" << failures(r);
    std::printf("[ engine    ] MiniLM %s: min embedding cosine %.6f over %lld sentences\n", to_string(engine),
                r.min_embedding_cosine, static_cast<long long>(r.sentences));
  }
}

TEST(MiniLMPipelineRefusals, FusedModeIsAnInvalidMapping) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  Fixture& f = fixture(minilm);
  QuantizeOptions o = options(f, f.scratch / "fused", Recipe::lmdeploy);
  o.mode = SmoothMode::fused;
  try {
    quantize_and_export(backend(), o);
    FAIL() << "fused smoothing of a post-LN BERT was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("not an exact mapping"), std::string::npos) << what;
    EXPECT_NE(what.find("residual stream"), std::string::npos) << what;
    EXPECT_NE(what.find("--mode migration"), std::string::npos) << what;
  }
  EXPECT_FALSE(fs::exists(f.scratch / "fused"));
  for (const auto& entry : fs::directory_iterator(f.scratch.path()))
    EXPECT_EQ(entry.path().filename().string().find(".fused.tmp"), std::string::npos) << "staging left behind";
}

TEST(MiniLMPipelineRefusals, StatisticsOfAnotherModelAreRefused) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  Fixture& f = fixture(minilm);
  CalibrationStats wrong;
  LinearStats s;
  s.absmax = s.max = s.absmean = std::vector<float>(64, 1.0f);
  s.min = s.mean = std::vector<float>(64, 0.0f);
  wrong.linears["model.layers.0.self_attn.q_proj"] = s;
  const fs::path stats = f.scratch / "llama-stats.safetensors";
  write_calibration_stats(stats, wrong);
  QuantizeOptions o = options(f, f.scratch / "wrong-stats", Recipe::lmdeploy);
  o.stats = stats;
  try {
    quantize_and_export(backend(), o);
    FAIL() << "statistics of another model were accepted";
  } catch (const checkpoint::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.layer.0.attention.self.query.absmax"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(f.scratch / "wrong-stats"));
}

// Rewrites one tensor of a single-shard export in place of the shard (a test-only edit).
void edit_tensor(const fs::path& export_dir, const std::string& name, const std::function<void(at::Tensor&)>& edit) {
  const auto c = checkpoint::open_checkpoint(export_dir);
  checkpoint::NamedTensors all;
  for (const auto& n : c->tensor_names()) {
    at::Tensor t = c->tensor(n);
    if (n == name) edit(t);
    all.push_back({n, t});
  }
  const auto opaque = c->opaque_tensors();
  const fs::path shard = export_dir / "model-00001-of-00001.safetensors";
  ASSERT_TRUE(fs::exists(shard));
  checkpoint::write_safetensors(shard, all, {}, opaque);
}

TEST(MiniLMPipelineDefects, EachCheckCatchesItsDefect) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  Fixture& f = fixture(minilm);

  // A key migration scale that differs from query's: the stacked qkv loader must refuse it.
  const fs::path scales = f.scratch / "defect-scales";
  quantize_and_export(backend(), options(f, scales, Recipe::smoothquant));
  edit_tensor(scales, "encoder.layer.2.attention.self.key.migration_scale", [](at::Tensor& t) { t[5] *= 1.5f; });
  VerifyReport r = verify(f, scales);
  EXPECT_NE(failures(r).find("loader:"), std::string::npos) << failures(r);
  EXPECT_NE(failures(r).find("encoder.layer.2.attention.self.qkv"), std::string::npos) << failures(r);

  // One weight code off by 3: the §8 weight check must name the linear.
  const fs::path codes = f.scratch / "defect-codes";
  quantize_and_export(backend(), options(f, codes, Recipe::smoothquant));
  edit_tensor(codes, "encoder.layer.4.output.dense.weight", [](at::Tensor& t) {
    const int8_t v = t[7][11].item<int8_t>();
    t[7][11] = static_cast<int8_t>(v > 0 ? v - 3 : v + 3);
  });
  r = verify(f, codes);
  EXPECT_NE(failures(r).find("weights: encoder.layer.4.output.dense"), std::string::npos) << failures(r);

  // An unsmoothed export whose config claims smoothing: self-consistent, so only the smoothing check
  // can tell (a quantiser that silently skipped smoothing looks exactly like this).
  const fs::path plain = f.scratch / "defect-unsmoothed";
  QuantizeOptions po = options(f, plain, Recipe::smoothquant);
  po.smooth = false;
  quantize_and_export(backend(), po);
  EXPECT_TRUE(verify(f, plain).passed()) << failures(verify(f, plain));
  {
    nlohmann::json cfg = nlohmann::json::parse(std::ifstream(plain / "config.json"));
    cfg["quantization_config"]["smoothing"] = true;
    std::ofstream(plain / "config.json") << cfg.dump(2);
  }
  r = verify(f, plain);
  EXPECT_NE(failures(r).find("smoothing: quantization_config says the model was smoothed"), std::string::npos)
      << failures(r);

  // The migration export run without its runtime division (an engine that ignores migration_scale):
  // the embedding cosine must fall below verify's threshold, or the forward check could not fail.
  const fs::path good = f.scratch / "defect-runtime";
  quantize_and_export(backend(), options(f, good, Recipe::smoothquant));
  const auto orig_dir = checkpoint::open_model_dir(minilm);
  const auto quant = checkpoint::open_checkpoint(good);
  const models::BertConfig config = models::read_bert_config(minilm / "config.json");
  const models::BertModel original(*orig_dir.checkpoint, config);
  const models::BertModel quantized(*quant, config, DType::f32, /*load_linear_weights=*/false);
  QuantizationConfig runtime_without_division = *read_quantization_config(good / "config.json");
  runtime_without_division.mode = SmoothMode::fused;  // the runtime that forgets to divide by s
  const W8A8Linears no_division(*quant, bert_quantized_linears(config, ""), runtime_without_division, backend());
  models::BertHooks hooks;
  hooks.replace_matmul = [&](const std::string& n, const at::Tensor& x) { return no_division.matmul(n, x); };
  BertCorpusOptions co;
  co.seq_len = kSeqLen;
  const auto chunks = bert_corpus_chunks(orig_dir, config, co);
  double worst = 1;
  for (std::size_t i = chunks.size() - 4; i < chunks.size(); ++i) {
    const double cosine = (original.sentence_embedding(chunks[i].ids) * quantized.sentence_embedding(chunks[i].ids, hooks))
                              .sum()
                              .item<double>();
    worst = std::min(worst, cosine);
  }
  EXPECT_LT(worst, VerifyThresholds{}.min_embedding_cosine) << "the forward threshold cannot tell a broken runtime";
  std::cout << "without the runtime division: worst held-out cosine " << worst << "\n";
}

}  // namespace
}  // namespace smoothcheck::pipeline
