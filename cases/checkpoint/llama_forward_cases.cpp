// The float32 LLaMA forward pass against llama2.c's known answer (shared/checkpoints/stories260K/
// reference_logits.txt, computed by upstream run.c), from every stored layout, plus the
// calibration hooks.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <ATen/ATen.h>
#include <ostream>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/models/llama.h"

namespace smoothcheck::models {
namespace {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;

// The token ids of the README, fed from position 0.
const std::vector<std::int64_t> kTokens = {1, 403, 407, 261, 378, 431, 259, 500, 305, 270, 290, 300};

at::Tensor reference_logits(const fs::path& file) {
  std::vector<float> values;
  const auto rows = testing::read_number_rows(file);
  for (const auto& row : rows) values.insert(values.end(), row.begin(), row.end());
  return at::tensor(values).view({static_cast<std::int64_t>(rows.size()), -1});
}

struct Layout {
  const char* dir;
  double tolerance;  // README: 1e-4 for the float32 layouts, 0.25 for the float16 weights
  DType compute;
};

// gtest prints a row by its name rather than as raw bytes.
void PrintTo(const Layout& c, std::ostream* os) { *os << c.dir << " " << to_string(c.compute) << " tol " << c.tolerance; }

class LlamaKnownAnswer : public ::testing::TestWithParam<Layout> {};

TEST_P(LlamaKnownAnswer, MatchesLlama2cRunC) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto root = shared / "checkpoints/stories260K";
  const auto before = testing::fingerprint(root);
  const at::Tensor expected = reference_logits(root / "reference_logits.txt");
  ASSERT_EQ(expected.sizes(), (std::vector<std::int64_t>{12, 512}));

  const auto model_dir = checkpoint::open_model_dir(root / GetParam().dir);
  const LlamaModel model(*model_dir.checkpoint, checkpoint::llama_config(model_dir), GetParam().compute);
  const at::Tensor logits = model.forward(kTokens).to(at::kFloat);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  ASSERT_TRUE(logits.isfinite().all().item<bool>());
  const double max_err = (logits - expected).abs().max().item<double>();
  RecordProperty("max_abs_error", std::to_string(max_err));
  EXPECT_LE(max_err, GetParam().tolerance) << GetParam().dir << ": max |logit - run.c| = " << max_err;
  std::cout << "[          ] " << GetParam().dir << " (" << to_string(GetParam().compute) << "): max |logit - run.c| = " << max_err << "\n";
  EXPECT_TRUE(testing::fingerprint(root) == before) << "a reader modified the shared checkpoints";
}

INSTANTIATE_TEST_SUITE_P(Layouts, LlamaKnownAnswer,
                         ::testing::Values(Layout{"llama2c", 1e-4, DType::f32}, Layout{"hf", 1e-4, DType::f32},
                                           Layout{"hf-sharded-bin", 0.25, DType::f32},
                                           Layout{"llama2c", 1e-4, DType::f64}),
                         [](const ::testing::TestParamInfo<Layout>& info) {
                           std::string n = std::string(info.param.dir) + "_" + to_string(info.param.compute);
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(LlamaHooks, SeeEveryLinearInputInOrder) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto model_dir = checkpoint::open_model_dir(shared / "checkpoints/stories260K/hf");
  const auto config = checkpoint::llama_config(model_dir);
  const LlamaModel model(*model_dir.checkpoint, config);

  std::vector<std::string> names;
  std::map<std::string, at::Tensor> inputs;
  LlamaHooks hooks;
  hooks.on_linear_input = [&](const std::string& name, const at::Tensor& x) {
    names.push_back(name);
    inputs[name] = x;
  };
  const at::Tensor with_hooks = model.forward(kTokens, hooks);
  EXPECT_EQ(names, LlamaModel::linear_names(config));
  EXPECT_EQ(names.size(), 5u * 7 + 1);
  for (const auto& [name, x] : inputs) {
    const bool down = name.find("down_proj") != std::string::npos;
    EXPECT_EQ(x.sizes(), (std::vector<std::int64_t>{1, 12, down ? 172 : 64})) << name;
    EXPECT_EQ(x.scalar_type(), at::kFloat) << name;
  }
  // q/k/v share the input_layernorm output and gate/up the post_attention_layernorm output.
  EXPECT_TRUE(inputs["model.layers.2.self_attn.q_proj"].equal(inputs["model.layers.2.self_attn.v_proj"]));
  EXPECT_TRUE(inputs["model.layers.2.mlp.gate_proj"].equal(inputs["model.layers.2.mlp.up_proj"]));
  // The head's input times the (tied) embedding is the logits: the hook saw the real activation.
  const at::Tensor head = model_dir.checkpoint->tensor("model.embed_tokens.weight");
  EXPECT_TRUE(at::allclose(at::linear(inputs["lm_head"], head).squeeze(0), with_hooks, 1e-5, 1e-5));
  // Hooks observe; they do not change the result.
  EXPECT_TRUE(model.forward(kTokens).equal(with_hooks));
}

TEST(LlamaForward, BatchEqualsSingleSequences) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto model_dir = checkpoint::open_model_dir(shared / "checkpoints/stories260K/hf");
  const LlamaModel model(*model_dir.checkpoint, checkpoint::llama_config(model_dir));
  const at::Tensor a = at::tensor(kTokens, at::kLong);
  const at::Tensor b = a.flip(0);
  const at::Tensor batch = model.forward(at::stack({a, b}));
  ASSERT_EQ(batch.sizes(), (std::vector<std::int64_t>{2, 12, 512}));
  // Not bit-equal: a [2, 12] GEMM blocks differently from a [12] one; the difference is float32
  // noise (measured 3e-5 on logits of magnitude up to 16).
  EXPECT_LE((batch[0] - model.forward(a)).abs().max().item<double>(), 1e-4);
  EXPECT_LE((batch[1] - model.forward(b)).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(model.forward(std::vector<std::int64_t>{1, 512}), std::invalid_argument);
  EXPECT_THROW(model.forward(std::vector<std::int64_t>{-1}), std::invalid_argument);
}

TEST(LlamaForward, ConfigThatDisagreesWithTheWeightsIsRefused) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto model_dir = checkpoint::open_model_dir(shared / "checkpoints/stories260K/hf");
  auto config = checkpoint::llama_config(model_dir);
  config.intermediate_size = 128;
  try {
    LlamaModel model(*model_dir.checkpoint, config);
    FAIL() << "built a model whose config disagrees with its weights";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "model.layers.0.mlp.gate_proj.weight");
    EXPECT_NE(std::string(e.what()).find("has shape [172, 64] but the LLaMA config implies [128, 64]"), std::string::npos)
        << e.what();
  }
  config = checkpoint::llama_config(model_dir);
  config.tie_word_embeddings = false;
  EXPECT_THROW(LlamaModel(*model_dir.checkpoint, config), CheckpointError);
}

// Export and re-import through smoothcheck's own .bin writer changes nothing in the forward pass.
TEST(LlamaForward, SurvivesATorchBinRoundTrip) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto model_dir = checkpoint::open_model_dir(shared / "checkpoints/stories260K/hf");
  const auto config = checkpoint::llama_config(model_dir);
  checkpoint::NamedTensors all;
  for (const auto& name : model_dir.checkpoint->tensor_names()) all.push_back({name, model_dir.checkpoint->tensor(name)});
  testing::ScratchDir out;
  checkpoint::write_torch_bin_sharded(out.path(), all, 400000);
  const auto reread = checkpoint::open_checkpoint(out.path());
  EXPECT_EQ(reread->format(), checkpoint::CheckpointFormat::torch_bin_sharded);
  const LlamaModel a(*model_dir.checkpoint, config), b(*reread, config);
  EXPECT_TRUE(a.forward(kTokens).equal(b.forward(kTokens)));
}

}  // namespace
}  // namespace smoothcheck::models
