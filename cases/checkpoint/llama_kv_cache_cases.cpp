// The LLaMA forward pass continued from a key/value cache (harness/models/llama_kv_cache.h): fed one
// token at a time it gives run.c's known-answer logits (run.c itself decodes token by token from its
// cache), fed in chunks it gives the one-pass logits to float64 rounding, and a cache that does not
// belong to the call is refused without being changed.
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"

namespace smoothcheck::models {
namespace {

namespace fs = std::filesystem;

// The README's token ids, as in llama_forward_cases.cpp.
const std::vector<std::int64_t> kRunCTokens = {1, 403, 407, 261, 378, 431, 259, 500, 305, 270, 290, 300};

LlamaModel stories_model(const fs::path& shared, DType compute) {
  const auto model_dir = checkpoint::open_model_dir(shared / "checkpoints/stories260K/llama2c");
  return LlamaModel(*model_dir.checkpoint, checkpoint::llama_config(model_dir), compute);
}

// Logits of `tokens` [B, T] fed to a fresh cache in chunks of the given lengths (summing to T), joined
// along the positions.
at::Tensor logits_in_chunks(const LlamaModel& model, const at::Tensor& tokens, const std::vector<std::int64_t>& chunks) {
  LlamaKvCache cache;
  std::vector<at::Tensor> parts;
  std::int64_t at = 0;
  for (const std::int64_t n : chunks) {
    parts.push_back(model.forward(tokens.narrow(1, at, n), {}, &cache));
    at += n;
    EXPECT_EQ(cache.positions(), at);
  }
  return at::cat(parts, 1);
}

TEST(LlamaKvCache, TokenByTokenMatchesRunC) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto rows = testing::read_number_rows(shared / "checkpoints/stories260K/reference_logits.txt");
  std::vector<float> values;
  for (const auto& row : rows) values.insert(values.end(), row.begin(), row.end());
  const at::Tensor expected = at::tensor(values).view({static_cast<std::int64_t>(rows.size()), -1});

  const LlamaModel model = stories_model(shared, DType::f32);
  const at::Tensor tokens = at::tensor(kRunCTokens, at::kLong).view({1, -1});
  const at::Tensor logits = logits_in_chunks(model, tokens, std::vector<std::int64_t>(kRunCTokens.size(), 1));
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{1, 12, 512}));
  // The one-pass forward's tolerance against run.c (llama_forward_cases.cpp): float32 rounding only.
  const double max_err = (logits[0] - expected).abs().max().item<double>();
  EXPECT_LE(max_err, 1e-4) << "max |cached logit - run.c| = " << max_err;
}

// In float64 every difference between the cached and the one-pass forward is rounding (the same
// products summed in other blockings): ~1e-15 of logits of magnitude ~10. A key at the wrong rotary
// position, or a query that does not see the cached positions, moves the logits by ~1.
TEST(LlamaKvCache, ChunksGiveTheOnePassLogits) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const LlamaModel model = stories_model(shared, DType::f64);
  const at::Tensor a = at::tensor(kRunCTokens, at::kLong);
  const at::Tensor tokens = at::stack({a, a.flip(0)});  // two sequences: the cache is per row
  const at::Tensor whole = model.forward(tokens);
  for (const std::vector<std::int64_t>& chunks :
       {std::vector<std::int64_t>{12}, std::vector<std::int64_t>{5, 1, 6}, std::vector<std::int64_t>{1, 11},
        std::vector<std::int64_t>(12, 1)}) {
    const at::Tensor cached = logits_in_chunks(model, tokens, chunks);
    ASSERT_EQ(cached.sizes(), whole.sizes());
    const double diff = (cached - whole).abs().max().item<double>();
    EXPECT_LE(diff, 1e-11) << chunks.size() << " chunks, the first " << chunks.front() << " tokens long";
  }
}

// The check above can fail: a cache whose keys sit one position off (each key rotated for the position
// after its own, as a cache written at the wrong offset would hold), continued by the remaining tokens,
// misses the one-pass logits by far more than its 1e-11.
TEST(LlamaKvCache, KeysAtTheWrongPositionsMissTheOnePassLogits) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const LlamaModel model = stories_model(shared, DType::f64);
  const at::Tensor tokens = at::tensor(kRunCTokens, at::kLong).view({1, -1});
  const at::Tensor whole = model.forward(tokens);
  LlamaKvCache cache;
  model.forward(tokens.narrow(1, 0, 6), {}, &cache);
  // The same keys recomputed one position later: prefix the tokens with BOS and drop its key.
  LlamaKvCache shifted;
  model.forward(at::cat({at::ones({1, 1}, at::kLong), tokens.narrow(1, 0, 6)}, 1), {}, &shifted);
  std::vector<at::Tensor> keys, values;
  for (std::size_t l = 0; l < cache.layers(); ++l) {
    keys.push_back(shifted.keys(l).narrow(2, 1, 6));
    values.push_back(cache.values(l));
  }
  cache.assign(keys, values, 1, 6);
  const at::Tensor rest = model.forward(tokens.narrow(1, 6, 6), {}, &cache);
  const double diff = (rest - whole.narrow(1, 6, 6)).abs().max().item<double>();
  EXPECT_GT(diff, 1e-3) << "keys at the wrong positions went unnoticed";
}

TEST(LlamaKvCache, RefusesACallItDoesNotBelongTo) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const LlamaModel model = stories_model(shared, DType::f32);
  const auto max_positions = model.config().max_position_embeddings;
  LlamaKvCache cache;
  model.forward(at::tensor(kRunCTokens, at::kLong).view({2, 6}), {}, &cache);
  ASSERT_EQ(cache.positions(), 6);
  ASSERT_EQ(cache.batch(), 2);
  ASSERT_EQ(cache.layers(), 5u);
  const at::Tensor keys_before = cache.keys(4).clone();

  // One sequence against a cache of two.
  try {
    model.forward(std::vector<std::int64_t>{1}, {}, &cache);
    FAIL() << "a one-sequence call continued a two-sequence cache";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("holds 2 sequences"), std::string::npos) << e.what();
  }
  // Past max_position_embeddings counted from the cached positions.
  const at::Tensor too_long = at::ones({2, max_positions - 5}, at::kLong);
  try {
    model.forward(too_long, {}, &cache);
    FAIL() << "ran past max_position_embeddings";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("after 6 cached positions"), std::string::npos) << e.what();
  }
  // A token id outside the vocabulary is refused before any layer runs.
  EXPECT_THROW(model.forward(at::full({2, 1}, 512, at::kLong), {}, &cache), std::invalid_argument);
  EXPECT_EQ(cache.positions(), 6);
  EXPECT_TRUE(cache.keys(4).equal(keys_before));
  // Up to the limit exactly is allowed.
  model.forward(at::ones({2, max_positions - 6}, at::kLong), {}, &cache);
  EXPECT_EQ(cache.positions(), max_positions);
}

}  // namespace
}  // namespace smoothcheck::models
