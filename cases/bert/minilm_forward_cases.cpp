// The BERT forward pass: all-MiniLM-L6-v2's sentence embeddings against sentence-transformers'
// (data/minilm_known_answers.json), padding, the calibration hooks, and a small random BERT written here
// for the checkpoint-layout and input checks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "bert_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/models/bert.h"

namespace smoothcheck {
// gtest prints a DType parameter by its name rather than as raw bytes.
static void PrintTo(DType d, std::ostream* os) { *os << to_string(d); }
}  // namespace smoothcheck

namespace smoothcheck::models {
namespace {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;

// |ours - sentence-transformers| per component, against the stored 6 significant digits. Measured once
// against the unrounded reference: our float32 pass differs from sentence-transformers' float32 by 9.7e-8,
// our float64 pass from its float64 by 2.9e-16 (the same computation), and its float32 from its float64
// by 1.3e-7 (recorded in the JSON): the float32 error of any implementation. The stored digits add up
// to 4.9e-7 of rounding, so this test sees 5.8e-7 (f32) and 5.6e-7 (f64). 2e-6 is the rounding plus
// ten times the float32 error, room for another BLAS or thread count's summation order, while a subtly
// wrong op moves components by 100 times that: tanh GELU by 3.1e-4, LayerNorm eps 1e-5 for 1e-12 by
// 2.4e-4 (measured in float64 with sentence-transformers).
constexpr double kEmbeddingTolerance = 2e-6;

struct MiniLM {
  std::unique_ptr<checkpoint::Checkpoint> weights;
  BertConfig config;
};

std::unique_ptr<MiniLM> load_minilm(const fs::path& dir) {
  auto m = std::make_unique<MiniLM>();
  // model.safetensors also holds the I64 buffer embeddings.position_ids: listed as opaque, not read.
  m->weights = checkpoint::open_checkpoint(dir / "model.safetensors");
  m->config = read_bert_config(dir / "config.json");
  return m;
}

double max_abs_diff(const at::Tensor& a, const std::vector<double>& expected) {
  const at::Tensor e = at::tensor(expected, at::kDouble);
  return (a.to(at::kDouble) - e).abs().max().item<double>();
}

class MiniLMKnownAnswer : public ::testing::TestWithParam<DType> {};

TEST_P(MiniLMKnownAnswer, EmbeddingsMatchSentenceTransformers) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto answers = testing::load_known_answers();
  const auto m = load_minilm(minilm);
  EXPECT_EQ(m->weights->format(), checkpoint::CheckpointFormat::safetensors);
  const BertModel model(*m->weights, m->config, GetParam());
  EXPECT_EQ(model.prefix(), "");
  double worst = 0;
  for (const auto& a : answers.embedded) {
    const at::Tensor e = model.sentence_embedding(a.input_ids);
    ASSERT_EQ(e.scalar_type(), GetParam() == DType::f64 ? at::kDouble : at::kFloat);
    ASSERT_EQ(e.sizes(), (std::vector<std::int64_t>{384}));
    const double d = max_abs_diff(e, a.embedding);
    worst = std::max(worst, d);
    EXPECT_LE(d, kEmbeddingTolerance) << a.text;
    EXPECT_NEAR(e.norm().item<double>(), 1.0, 1e-6);
  }
  RecordProperty("max_abs_error", std::to_string(worst));
  std::cout << "[ measured ] " << to_string(GetParam()) << " max |embedding - sentence-transformers| = " << worst
            << " (sentence-transformers f32 vs f64: " << answers.st_float32_vs_float64_max_abs << ")\n";
}

INSTANTIATE_TEST_SUITE_P(Compute, MiniLMKnownAnswer, ::testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(MiniLMForward, PaddedBatchEqualsOneTextAtATime) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto answers = testing::load_known_answers();
  const auto m = load_minilm(minilm);
  const BertModel model(*m->weights, m->config);
  const std::vector<std::vector<std::int64_t>> texts = {answers.embedded[0].input_ids, answers.embedded[2].input_ids,
                                                        answers.embedded[5].input_ids};
  std::int64_t T = 0;
  for (const auto& t : texts) T = std::max<std::int64_t>(T, static_cast<std::int64_t>(t.size()));
  at::Tensor ids = at::zeros({3, T}, at::kLong), mask = at::zeros({3, T}, at::kLong);
  for (std::size_t b = 0; b < texts.size(); ++b) {
    const auto n = static_cast<std::int64_t>(texts[b].size());
    ids[b].narrow(0, 0, n).copy_(at::tensor(texts[b], at::kLong));
    mask[b].narrow(0, 0, n).fill_(1);
  }
  const at::Tensor batched = model.sentence_embedding(ids, mask);
  ASSERT_EQ(batched.sizes(), (std::vector<std::int64_t>{3, 384}));
  for (std::size_t b = 0; b < texts.size(); ++b) {
    const at::Tensor alone = model.sentence_embedding(texts[b]);
    EXPECT_LE((batched[b] - alone).abs().max().item<double>(), 1e-6) << "row " << b;
  }
}

TEST(MiniLMForward, HooksSeeEveryLinearInputOfRealTokensOnly) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto m = load_minilm(minilm);
  const BertModel model(*m->weights, m->config);
  std::vector<std::string> seen;
  std::vector<std::vector<std::int64_t>> shapes;
  BertHooks hooks;
  hooks.on_linear_input = [&](const std::string& name, const at::Tensor& x) {
    seen.push_back(name);
    shapes.push_back(x.sizes().vec());
    ASSERT_TRUE(m->weights->contains(name + ".weight")) << name;
    EXPECT_EQ(x.size(-1), m->weights->info(name + ".weight").shape[1]) << name;
  };
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{101, 7592, 2088, 102, 101, 7592, 102, 0}).view({2, 4});
  const at::Tensor mask = at::tensor(std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 1, 0}).view({2, 4});
  model.forward(ids, mask, {}, hooks);
  EXPECT_EQ(seen, model.linear_names());
  ASSERT_EQ(seen.size(), 36u);
  EXPECT_EQ(seen[0], "encoder.layer.0.attention.self.query");
  EXPECT_EQ(seen[35], "encoder.layer.5.output.dense");
  for (std::size_t i = 0; i < shapes.size(); ++i)
    EXPECT_EQ(shapes[i], (std::vector<std::int64_t>{1, 7,
                                                    seen[i].find("output.dense") != std::string::npos &&
                                                            seen[i].find("attention") == std::string::npos
                                                        ? 1536
                                                        : 384}))
        << seen[i];

  // Without padding the hook sees the batch as it is.
  shapes.clear();
  seen.clear();
  model.forward(ids, {}, {}, hooks);
  EXPECT_EQ(shapes.front(), (std::vector<std::int64_t>{2, 4, 384}));
}

// A random BERT small enough to write in a test, in transformers' names with an optional prefix.
checkpoint::NamedTensors tiny_bert(const BertConfig& c, const std::string& prefix) {
  at::manual_seed(7);
  checkpoint::NamedTensors t;
  const auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    t.push_back({prefix + name, at::randn(shape, at::kFloat) * 0.3});
  };
  const std::int64_t D = c.hidden_size, I = c.intermediate_size;
  add("embeddings.word_embeddings.weight", {c.vocab_size, D});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, D});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, D});
  add("embeddings.LayerNorm.weight", {D});
  add("embeddings.LayerNorm.bias", {D});
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* n :
         {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      add(p + n + ".weight", {D, D});
      add(p + n + ".bias", {D});
    }
    add(p + "attention.output.LayerNorm.weight", {D});
    add(p + "attention.output.LayerNorm.bias", {D});
    add(p + "intermediate.dense.weight", {I, D});
    add(p + "intermediate.dense.bias", {I});
    add(p + "output.dense.weight", {D, I});
    add(p + "output.dense.bias", {D});
    add(p + "output.LayerNorm.weight", {D});
    add(p + "output.LayerNorm.bias", {D});
  }
  add("pooler.dense.weight", {D, D});  // present in exports, unused by the encoder
  return t;
}

BertConfig tiny_config() {
  BertConfig c;
  c.hidden_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 16;
  c.vocab_size = 20;
  c.max_position_embeddings = 6;
  c.type_vocab_size = 2;
  return c;
}

TEST(TinyBert, BertPrefixedExportsGiveTheSameModel) {
  testing::TempDir dir;
  const BertConfig c = tiny_config();
  checkpoint::write_safetensors(dir / "plain.safetensors", tiny_bert(c, ""));
  checkpoint::write_safetensors(dir / "prefixed.safetensors", tiny_bert(c, "bert."));
  const auto plain = checkpoint::open_checkpoint(dir / "plain.safetensors");
  const auto prefixed = checkpoint::open_checkpoint(dir / "prefixed.safetensors");
  const BertModel a(*plain, c), b(*prefixed, c);
  EXPECT_EQ(b.prefix(), "bert.");
  EXPECT_EQ(b.linear_names().front(), "bert.encoder.layer.0.attention.self.query");
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{1, 5, 19, 0, 3});
  const at::Tensor types = at::tensor(std::vector<std::int64_t>{0, 0, 1, 1, 1});
  EXPECT_TRUE(at::equal(a.forward(ids, {}, types), b.forward(ids, {}, types)));
  // Token types change the result; an all-zero type tensor equals none.
  EXPECT_FALSE(at::allclose(a.forward(ids, {}, types), a.forward(ids)));
  EXPECT_TRUE(at::equal(a.forward(ids, {}, at::zeros({5}, at::kLong)), a.forward(ids)));
}

TEST(TinyBert, MissingOrMisshapenWeightsAreNamed) {
  testing::TempDir dir;
  const BertConfig c = tiny_config();
  auto tensors = tiny_bert(c, "");
  tensors.erase(std::find_if(tensors.begin(), tensors.end(),
                             [](const auto& t) { return t.name == "encoder.layer.1.intermediate.dense.bias"; }));
  checkpoint::write_safetensors(dir / "missing.safetensors", tensors);
  try {
    BertModel(*checkpoint::open_checkpoint(dir / "missing.safetensors"), c);
    FAIL() << "loaded a model without a bias";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "encoder.layer.1.intermediate.dense.bias");
  }
  BertConfig wider = c;
  wider.intermediate_size = 32;
  checkpoint::write_safetensors(dir / "plain.safetensors", tiny_bert(c, ""));
  try {
    BertModel(*checkpoint::open_checkpoint(dir / "plain.safetensors"), wider);
    FAIL() << "loaded weights of the wrong shape";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "encoder.layer.0.intermediate.dense.weight");
    EXPECT_NE(e.problem().find("[16, 8]"), std::string::npos) << e.what();
  }
}

TEST(TinyBert, RefusesBadInputs) {
  testing::TempDir dir;
  const BertConfig c = tiny_config();
  checkpoint::write_safetensors(dir / "m.safetensors", tiny_bert(c, ""));
  const BertModel model(*checkpoint::open_checkpoint(dir / "m.safetensors"), c);
  const auto ids = [](std::vector<std::int64_t> v) { return at::tensor(v, at::kLong); };
  EXPECT_THROW(model.forward(ids({1, 20})), std::invalid_argument);  // id past the vocabulary
  EXPECT_THROW(model.forward(ids({1, -1})), std::invalid_argument);
  EXPECT_THROW(model.forward(ids({1, 2, 3, 4, 5, 6, 7})), std::invalid_argument);    // 7 > 6 positions
  EXPECT_THROW(model.forward(ids({1, 2}), ids({1, 2})), std::invalid_argument);      // mask value 2
  EXPECT_THROW(model.forward(ids({1, 2}), ids({1})), std::invalid_argument);         // mask shape
  EXPECT_THROW(model.forward(ids({1, 2}), {}, ids({0, 2})), std::invalid_argument);  // token type 2
  EXPECT_THROW(model.forward(at::ones({2}, at::kFloat)), std::invalid_argument);
  EXPECT_THROW(model.forward(at::ones({1, 1, 2}, at::kLong)), std::invalid_argument);
  EXPECT_THROW(BertModel(*checkpoint::open_checkpoint(dir / "m.safetensors"), c, DType::f16), std::invalid_argument);
  EXPECT_EQ(model.forward(ids({1, 2, 3, 4, 5, 6})).sizes(), (std::vector<std::int64_t>{6, 8}));
}

TEST(TinyBert, PaddingChangesNothingForTheRealTokens) {
  testing::TempDir dir;
  const BertConfig c = tiny_config();
  checkpoint::write_safetensors(dir / "m.safetensors", tiny_bert(c, ""));
  const BertModel model(*checkpoint::open_checkpoint(dir / "m.safetensors"), c, DType::f64);
  const at::Tensor alone = model.forward(at::tensor(std::vector<std::int64_t>{2, 9, 4}, at::kLong));
  const at::Tensor padded = model.forward(at::tensor(std::vector<std::int64_t>{2, 9, 4, 7, 7}, at::kLong),
                                          at::tensor(std::vector<std::int64_t>{1, 1, 1, 0, 0}, at::kLong));
  EXPECT_LE((padded.narrow(0, 0, 3) - alone).abs().max().item<double>(), 1e-12);
  // An all-padding row stays finite (transformers' finfo.min masking, not -inf).
  const at::Tensor none =
      model.forward(at::tensor(std::vector<std::int64_t>{2, 9}, at::kLong), at::zeros({2}, at::kLong));
  EXPECT_TRUE(at::isfinite(none).all().item<bool>());
}

}  // namespace
}  // namespace smoothcheck::models
