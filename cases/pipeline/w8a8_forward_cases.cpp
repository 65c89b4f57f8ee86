// The W8A8 forward repeats models::LlamaModel's float arithmetic around its linears; with float
// linears it must give LlamaModel's logits, so that every difference `verify` reports comes from the
// int8 linears and not from a second, subtly different LLaMA.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"
#include "harness/pipeline/w8a8_llama.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

TEST(PipelineW8A8Forward, FloatLinearsReproduceLlamaModel) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto dir = checkpoint::open_model_dir(stories_layout(shared, "hf"));
  const auto config = checkpoint::llama_config(dir);
  const models::LlamaModel model(*dir.checkpoint, config);
  const auto w = pipeline::load_non_linear_weights(*dir.checkpoint, config);
  std::map<std::string, at::Tensor> linears;
  for (const auto& n : models::LlamaModel::linear_names(config))
    if (n != "lm_head") linears[n] = dir.checkpoint->tensor(n + ".weight").to(at::kFloat);
  const std::vector<int64_t> ids = {1, 403, 407, 261, 378, 431, 259, 500, 305, 270, 290, 300};
  const at::Tensor tokens = at::tensor(ids, at::kLong);
  const at::Tensor ours = pipeline::llama_forward(
      config, w, [&](const std::string& n, const at::Tensor& x) { return at::linear(x, linears.at(n)); }, tokens);
  const at::Tensor ref = model.forward(tokens);
  ASSERT_EQ(ours.sizes(), ref.sizes());
  // Same operations in the same order, batch dimension aside: agreement to f32 noise.
  EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace smoothcheck::testing
