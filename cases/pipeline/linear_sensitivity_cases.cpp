// The partly quantised forward and the sensitivity ranking built on it (issue 16): with every linear in
// W8A8 it is verify's W8A8 forward exactly, with none it is the float model (up to the smoothing's
// roundings), and a linear stored with six-bit codes ranks first alone, while leaving it in float buys
// back more of the model's error than leaving any other linear in float.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/linear_sensitivity.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantize_export.h"
#include "harness/pipeline/w8a8_llama.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing::linear_sensitivity {
namespace {

namespace fs = std::filesystem;

std::vector<int64_t> a_sequence(int64_t n) {
  std::vector<int64_t> s = {1};
  for (int64_t i = 1; i < n; ++i) s.push_back((i * 53) % 480 + 7);
  return s;
}

fs::path fused_export(const fs::path& shared, SmoothMode mode) {
  pipeline::QuantizeOptions q = pipeline::options_for_engine(Engine::lmdeploy);
  q.model = stories_layout(shared, "hf");
  q.stats = small_stats(shared, "hf");
  q.mode = mode;
  q.out = process_scratch() / (std::string("sensitivity-export-") + to_string(mode));
  if (!fs::exists(q.out)) pipeline::quantize_and_export(cpu_backend(), q);
  return q.out;
}

class PartlyQuantizedForward : public ::testing::TestWithParam<SmoothMode> {};

TEST_P(PartlyQuantizedForward, AllInt8IsTheW8A8ForwardAndNoneIsTheFloatModel) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path dir = fused_export(shared, GetParam());
  const auto original = pipeline::open_model_family(stories_layout(shared, "hf"));
  const checkpoint::ModelDir exported = checkpoint::open_model_dir(dir);
  const pipeline::QuantizationConfig qc = pipeline::require_export_quantization_config(exported.dir, exported.config_json);
  const at::Tensor tokens = at::tensor(a_sequence(32), at::kLong);
  std::set<std::string> all;
  for (const QuantizedLinear& l : original->linears()) all.insert(l.name);
  const at::Tensor w8a8 =
      pipeline::W8A8Llama(*exported.checkpoint, checkpoint::llama_config(checkpoint::open_model_dir(stories_layout(shared, "hf"))),
                          qc, cpu_backend())
          .forward(tokens);
  EXPECT_TRUE(at::equal(original->partly_quantized_forward(*exported.checkpoint, qc, cpu_backend(), all, tokens), w8a8));
  const at::Tensor none = original->partly_quantized_forward(*exported.checkpoint, qc, cpu_backend(), {}, tokens);
  const double gap = (none - original->forward(tokens).to(at::kFloat)).abs().max().item<double>();
  EXPECT_LT(gap, 1e-3);  // the float model with smoothed weights: equal up to float rounding
  EXPECT_GT((w8a8 - none).abs().max().item<double>(), 0.1);  // and far from the W8A8 one
}

INSTANTIATE_TEST_SUITE_P(Modes, PartlyQuantizedForward, ::testing::Values(SmoothMode::fused, SmoothMode::migration),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(LinearSensitivity, ASixBitLinearRanksFirstAndLeavingItFloatBuysTheErrorBack) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path honest = fused_export(shared, SmoothMode::fused);
  const std::string k1 = "model.layers.1.self_attn.k_proj";
  std::map<std::string, at::Tensor> t = read_checkpoint_tensors(honest);
  at::Tensor w = t[k1 + ".weight"];
  w.copy_((w.to(at::kFloat) / 4).round().to(at::kChar));
  t[k1 + ".scale"] = t[k1 + ".scale"] * 4;
  const fs::path dir = write_edited_copy(honest, t, "sensitivity-six-bit-k1");
  const auto original = pipeline::open_model_family(stories_layout(shared, "hf"));
  const checkpoint::ModelDir exported = checkpoint::open_model_dir(dir);
  const pipeline::QuantizationConfig qc = pipeline::require_export_quantization_config(exported.dir, exported.config_json);
  const std::vector<int64_t> seq = a_sequence(64);
  const std::vector<pipeline::LinearSensitivity> ranked =
      pipeline::linear_sensitivity(*original, *exported.checkpoint, qc, cpu_backend(), seq);
  ASSERT_EQ(ranked.size(), 35u);
  EXPECT_EQ(ranked.front().name, k1);
  std::set<std::string> all;
  for (const QuantizedLinear& l : original->linears()) all.insert(l.name);
  const at::Tensor tokens = at::tensor(seq, at::kLong);
  const pipeline::LogitComparison everything = pipeline::compare_logits(
      original->forward(tokens), original->partly_quantized_forward(*exported.checkpoint, qc, cpu_backend(), all, tokens),
      seq);
  // Leaving it in float buys back more than leaving any other linear in float would.
  EXPECT_LT(ranked.front().all_but.mean_token_kl, everything.mean_token_kl);
  for (const pipeline::LinearSensitivity& s : ranked)
    if (s.name != k1) EXPECT_LT(ranked.front().all_but.mean_token_kl, s.all_but.mean_token_kl) << s.name;
}

}  // namespace
}  // namespace smoothcheck::testing::linear_sensitivity
