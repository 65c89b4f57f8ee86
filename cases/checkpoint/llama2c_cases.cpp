// llama2.c legacy files: the shared stories260K file exposes exactly the tensors of the Hugging Face
// layout (q/k rows permuted), and malformed headers fail with the file named.
#include <ATen/ATen.h>
#include <ostream>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/llama2c_reader.h"
#include "harness/checkpoint/model_dir.h"

namespace smoothcheck::checkpoint {
namespace {

struct Dims {
  std::int32_t dim, hidden, layers, heads, kv_heads, vocab, seq;
};

// The float count a header implies (the reader's rule, restated independently for the fixtures).
std::int64_t floats_for(const Dims& d) {
  const std::int64_t D = d.dim, H = d.hidden, L = d.layers, V = std::abs(d.vocab), hd = D / d.heads,
                     kv = hd * d.kv_heads;
  return V * D + L * D + L * D * D + 2 * L * kv * D + L * D * D + L * D + 3 * L * H * D + D + d.seq * hd +
         (d.vocab < 0 ? V * D : 0);
}

// A llama2.c image whose float k holds the value k, so every tensor's position is checkable.
std::string image(const Dims& d, std::int64_t floats) {
  std::string s;
  for (std::int32_t v : {d.dim, d.hidden, d.layers, d.heads, d.kv_heads, d.vocab, d.seq}) s += testing::i32_le(v);
  for (std::int64_t k = 0; k < floats; ++k) {
    const float f = static_cast<float>(k);
    s.append(reinterpret_cast<const char*>(&f), 4);
  }
  return s;
}

TEST(Llama2c, SharedFileMatchesTheHuggingFaceLayout) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto root = shared / "checkpoints/stories260K";
  const auto before = testing::fingerprint(root / "llama2c");
  const auto l2c = open_checkpoint(root / "llama2c");
  const auto hf = open_checkpoint(root / "hf");
  EXPECT_EQ(l2c->format(), CheckpointFormat::llama2c);
  ASSERT_EQ(l2c->tensor_names(), hf->tensor_names());
  // Bit-equal, q_proj/k_proj included: the permutation is the one HF's conversion applied.
  for (const auto& name : hf->tensor_names()) EXPECT_TRUE(l2c->tensor(name).equal(hf->tensor(name))) << name;
  EXPECT_TRUE(testing::fingerprint(root / "llama2c") == before) << "the reader modified its input";
}

TEST(Llama2c, HeaderImpliesTheConfigJson) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto root = shared / "checkpoints/stories260K";
  const LlamaConfig a = llama_config(open_model_dir(root / "llama2c"));
  const LlamaConfig b = read_llama_config(root / "hf/config.json");
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
  EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
}

TEST(Llama2c, OffsetsPermutationAndUntiedHead) {
  // dim 8, 2 heads of 4, 1 kv head; negative vocab: an untied classifier after the RoPE tables.
  const Dims d{8, 6, 2, 2, 1, -5, 3};
  testing::ScratchDir dir;
  const auto file = dir / "tiny.bin";
  testing::write_bytes(file, image(d, floats_for(d)));
  Llama2cFile f(file);
  ASSERT_TRUE(f.contains("lm_head.weight"));
  const auto ckpt = open_checkpoint(file);
  EXPECT_EQ(ckpt->embedded_config()->tie_word_embeddings, false);
  EXPECT_EQ(ckpt->tensor_names().size(), 1u + 2 * 9 + 1 + 1);
  // embed [5, 8] = floats 0..39; layer-1 input norm follows the layer-0 one.
  EXPECT_EQ(ckpt->tensor("model.embed_tokens.weight")[4][7].item<float>(), 39.0f);
  EXPECT_EQ(ckpt->tensor("model.layers.1.input_layernorm.weight")[0].item<float>(), 48.0f);
  // q of layer 0 starts at 56; HF row (head h, half, i) is original row h*4 + 2*i + half.
  const at::Tensor q = ckpt->tensor("model.layers.0.self_attn.q_proj.weight");
  const std::int64_t to_orig[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (std::int64_t r = 0; r < 8; ++r) EXPECT_EQ(q[r][0].item<float>(), 56.0f + 8 * to_orig[r]) << "row " << r;
  const at::Tensor k = ckpt->tensor("model.layers.1.self_attn.k_proj.weight");  // [4, 8], one head
  const float k1 = 56 + 2 * 64 + 32;                                            // after q and layer 0's k
  const std::int64_t k_orig[4] = {0, 2, 1, 3};
  for (std::int64_t r = 0; r < 4; ++r) EXPECT_EQ(k[r][0].item<float>(), k1 + 8 * k_orig[r]) << "row " << r;
  const at::Tensor head = ckpt->tensor("lm_head.weight");
  EXPECT_EQ(head[0][0].item<float>(), static_cast<float>(floats_for(d) - 40));
}

struct HeaderCase {
  std::string name;
  std::string bytes;
  std::string problem;
};

// gtest prints a row by its name rather than as raw bytes.
void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

std::vector<HeaderCase> header_cases() {
  const Dims ok{8, 6, 2, 2, 1, 5, 3};
  const auto with = [&](Dims d, std::int64_t delta) { return image(d, floats_for(d) + delta); };
  Dims zero = ok, odd = ok, nodiv = ok, kvdiv = ok, huge = ok;
  zero.layers = 0;
  odd.dim = 6, odd.heads = 2;  // head_dim 3
  nodiv.heads = 3;
  kvdiv.kv_heads = 3, kvdiv.heads = 2;
  huge = {2147483646, 1, 4096, 1, 1, 1, 1};  // 4096 layers: the most llama2c_reader accepts (kMaxHiddenLayers)
  return {
      {"truncated_header", image(ok, 0).substr(0, 20), "truncated llama2.c header"},
      {"zero_layers", image(zero, 100), "non-positive dimension"},
      {"heads_do_not_divide_dim", image(nodiv, 100), "n_heads does not divide dim"},
      {"kv_heads_do_not_divide_heads", image(kvdiv, 100), "n_kv_heads does not divide n_heads"},
      {"odd_head_dim", image(odd, 100), "is odd"},
      {"one_float_short", with(ok, -1), "implies exactly"},
      {"one_float_long", with(ok, 1), "implies exactly"},
      {"dimensions_overflow", image(huge, 4), "overflow 64 bits"},
  };
}

class Llama2cMalformed : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(Llama2cMalformed, ThrowsNamingFileAndProblem) {
  const HeaderCase& c = GetParam();
  testing::ScratchDir dir;
  const auto file = dir / (c.name + ".bin");
  testing::write_bytes(file, c.bytes);
  const auto before = testing::fingerprint(file);
  try {
    Llama2cFile f(file);
    FAIL() << c.name << ": opened without error";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << "expected '" << c.problem << "' in: " << msg;
  }
  EXPECT_TRUE(testing::fingerprint(file) == before);
}

INSTANTIATE_TEST_SUITE_P(Rows, Llama2cMalformed, ::testing::ValuesIn(header_cases()),
                         [](const ::testing::TestParamInfo<HeaderCase>& info) { return info.param.name; });

}  // namespace
}  // namespace smoothcheck::checkpoint
