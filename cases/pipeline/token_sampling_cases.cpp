// sample_sequences (harness/pipeline/token_sampling.h) decodes from a key/value cache. Its tokens are
// re-derived here without one: one forward pass over the finished sequences gives every prefix's
// next-token logits (the mask is causal), and the same generator, inverted through those logits' CDF,
// must draw the same tokens. A cache at the wrong position, a step that reads the wrong row or a
// temperature not applied all draw other tokens.
#include <cmath>
#include <ostream>
#include <random>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/models/llama.h"
#include "harness/pipeline/token_sampling.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

struct SamplingCase {
  int64_t sequences, length;
  uint64_t seed;
  double temperature;
};

void PrintTo(const SamplingCase& c, std::ostream* os) {
  *os << c.sequences << " x " << c.length << " tokens, seed " << c.seed << ", temperature " << c.temperature;
}

class SampledTokens : public ::testing::TestWithParam<SamplingCase> {};

TEST_P(SampledTokens, AreThoseOfTheUncachedForwardPass) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const checkpoint::ModelDir m = checkpoint::open_model_dir(stories_layout(shared, "hf"));
  const models::LlamaModel model(*m.checkpoint, checkpoint::llama_config(m), DType::f32);
  const SamplingCase& c = GetParam();
  pipeline::SamplingOptions so;
  so.sequences = c.sequences;
  so.length = c.length;
  so.seed = c.seed;
  so.temperature = c.temperature;
  const auto seqs = pipeline::sample_sequences(model, so);
  ASSERT_EQ(static_cast<int64_t>(seqs.size()), c.sequences);

  std::vector<int64_t> flat;
  for (const auto& s : seqs) {
    ASSERT_EQ(static_cast<int64_t>(s.size()), c.length);
    EXPECT_EQ(s.front(), so.bos);
    flat.insert(flat.end(), s.begin(), s.end());
  }
  const at::Tensor logits = model.forward(at::tensor(flat, at::kLong).view({c.sequences, c.length})).to(at::kDouble);
  std::mt19937_64 rng(c.seed);
  int64_t near_boundary = 0;
  for (int64_t step = 0; step + 1 < c.length; ++step) {
    const at::Tensor probs = at::softmax(logits.select(1, step) / c.temperature, -1).contiguous();
    const double* p = probs.data_ptr<double>();
    const int64_t V = probs.size(1);
    for (int64_t b = 0; b < c.sequences; ++b) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      const int64_t drawn = seqs[b][step + 1];
      // The CDF just below and at the drawn token, from these logits.
      double below = 0;
      for (int64_t v = 0; v < drawn; ++v) below += p[b * V + v];
      const double at_drawn = below + p[b * V + drawn];
      if (u >= below && (u < at_drawn || drawn == V - 1)) continue;
      // The cached pass's logits differ from these by float32 rounding (~1e-5 relative): a uniform that
      // close to a CDF step may fall on either side of it; anything further is another token.
      const double miss = u < below ? below - u : u - at_drawn;
      EXPECT_LE(miss, 1e-5) << "sequence " << b << ", position " << step + 1 << ": drew " << drawn
                            << ", whose CDF interval [" << below << ", " << at_drawn << ") misses u = " << u;
      ++near_boundary;
    }
  }
  EXPECT_LE(near_boundary, 1) << "uniforms within rounding of a CDF step are rare";
}

INSTANTIATE_TEST_SUITE_P(Stories260K, SampledTokens,
                         ::testing::Values(SamplingCase{3, 40, 11, 1.0}, SamplingCase{2, 64, 0, 0.7},
                                           SamplingCase{1, 17, 5, 1.3}));

}  // namespace
}  // namespace smoothcheck::testing
