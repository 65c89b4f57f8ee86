// config.json: the shared file parses to the stories260K facts; each malformed row names the field.
#include <ostream>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/checkpoint/llama_config.h"

namespace smoothcheck::checkpoint {
namespace {

TEST(LlamaConfig, SharedConfigHasTheReadmeFacts) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const LlamaConfig c = read_llama_config(shared / "checkpoints/stories260K/hf/config.json");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim(), 8);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, DType::f32);
}

TEST(LlamaConfig, DefaultsFollowTransformers) {
  testing::ScratchDir dir;
  testing::write_bytes(dir / "config.json",
                       R"({"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10})");
  const LlamaConfig c = read_llama_config(dir / "config.json");
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.torch_dtype.has_value());
}

// An llm-compressor W8A8 export's config.json, in the shape compressed-tensors writes it (issue 14):
// quantization_config.config_groups.group_0.weights five levels down, and a transform_config seven. The
// bound that refuses nesting bombs (kMaxConfigJsonDepth) lets it through; one level past the bound is
// refused, naming the limit.
TEST(LlamaConfig, RealCompressedTensorsNestingIsReadAndABombIsNot) {
  const std::string quantization_config = R"({"quant_method":"compressed-tensors","format":"int-quantized",
    "config_groups":{"group_0":{"targets":["Linear"],
      "weights":{"num_bits":8,"type":"int","symmetric":true,"strategy":"channel","dynamic":false},
      "input_activations":{"num_bits":8,"type":"int","symmetric":true,"strategy":"token","dynamic":true}}},
    "transform_config":{"config_groups":{"u":{"apply":[{"targets":["Linear"],"location":"weight_input"}]}}},
    "ignore":["lm_head"]})";
  testing::ScratchDir dir;
  testing::write_bytes(dir / "config.json", R"({"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,
    "num_attention_heads":4,"vocab_size":10,"quantization_config":)" + quantization_config + "}");
  EXPECT_EQ(read_llama_config(dir / "config.json").hidden_size, 32);

  std::string nested = "1";
  for (int depth = 0; depth < kMaxConfigJsonDepth; ++depth) nested = "[" + nested + "]";
  testing::write_bytes(dir / "config.json", R"({"hidden_size":32,"deep":)" + nested + "}");
  try {
    read_llama_config(dir / "config.json");
    ADD_FAILURE() << "a config nesting past the bound was read";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("nests deeper than " + std::to_string(kMaxConfigJsonDepth)), std::string::npos)
        << e.what();
  }
}

struct ConfigCase {
  std::string name;
  std::string json;
  std::string problem;
};

// gtest prints a row by its name rather than as raw bytes.
void PrintTo(const ConfigCase& c, std::ostream* os) { *os << c.name; }

std::vector<ConfigCase> config_cases() {
  const std::string base = R"("intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":10)";
  return {
      {"missing_hidden_size", "{" + base + "}", "lacks the required field hidden_size"},
      {"string_hidden_size", R"({"hidden_size":"32",)" + base + "}", "hidden_size is a string"},
      {"negative_hidden_size", R"({"hidden_size":-32,)" + base + "}", "hidden_size is -32, not positive"},
      {"heads_do_not_divide", R"({"hidden_size":30,)" + base + "}", "does not divide hidden_size"},
      {"odd_head_dim", R"({"hidden_size":12,)" + base + "}", "head_dim 3 is odd"},
      {"kv_heads_do_not_divide", R"({"hidden_size":32,"num_key_value_heads":3,)" + base + "}",
       "num_key_value_heads 3 does not divide"},
      {"zero_eps", R"({"hidden_size":32,"rms_norm_eps":0,)" + base + "}", "rms_norm_eps"},
      {"rope_scaling", R"({"hidden_size":32,"rope_scaling":{"type":"linear","factor":2.0},)" + base + "}",
       "rope_scaling"},
      {"other_model_type", R"({"hidden_size":32,"model_type":"gpt2",)" + base + "}", "model_type is 'gpt2'"},
      {"attention_bias", R"({"hidden_size":32,"attention_bias":true,)" + base + "}", "attention_bias is true"},
      {"bad_torch_dtype", R"({"hidden_size":32,"torch_dtype":"int8",)" + base + "}", "torch_dtype 'int8'"},
      {"head_dim_disagrees", R"({"hidden_size":32,"head_dim":16,)" + base + "}", "head_dim 16 differs"},
      {"duplicate_key", R"({"hidden_size":32,"hidden_size":64,)" + base + "}", "repeats the key 'hidden_size'"},
      {"not_json", R"({"hidden_size":)", "not valid JSON"},
      {"not_object", R"([1])", "not an object"},
  };
}

class LlamaConfigMalformed : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(LlamaConfigMalformed, ThrowsNamingFileAndField) {
  const ConfigCase& c = GetParam();
  testing::ScratchDir dir;
  const auto file = dir / "config.json";
  testing::write_bytes(file, c.json);
  try {
    read_llama_config(file);
    FAIL() << c.name << ": parsed without error";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << "expected '" << c.problem << "' in: " << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, LlamaConfigMalformed, ::testing::ValuesIn(config_cases()),
                         [](const ::testing::TestParamInfo<ConfigCase>& info) { return info.param.name; });

}  // namespace
}  // namespace smoothcheck::checkpoint
