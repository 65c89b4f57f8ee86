// BERT's config.json and sentence-transformers' pooling config: the real all-MiniLM-L6-v2 files, and
// every malformed or unsupported field refused with the file and the field named.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bert_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/models/bert.h"

namespace smoothcheck::models {
namespace {

using checkpoint::CheckpointError;

const std::string kValid = R"({"model_type": "bert", "hidden_act": "gelu", "hidden_size": 384, "num_hidden_layers": 6,
  "num_attention_heads": 12, "intermediate_size": 1536, "vocab_size": 30522, "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512, "type_vocab_size": 2, "pad_token_id": 0, "position_embedding_type": "absolute"})";

// kValid with `key` set to the raw JSON `value` (or removed when value is empty).
std::string with(const std::string& key, const std::string& value) {
  auto j = nlohmann::json::parse(kValid);
  if (value.empty()) {
    j.erase(key);
  } else {
    j[key] = nlohmann::json::parse(value);
  }
  return j.dump();
}

TEST(BertConfig, ReadsAllMiniLM) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const BertConfig c = read_bert_config(minilm / "config.json");
  EXPECT_EQ(c.hidden_size, 384);
  EXPECT_EQ(c.num_hidden_layers, 6);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.head_dim(), 32);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_NO_THROW(check_mean_pooling_config(minilm / "1_Pooling" / "config.json", c.hidden_size));
}

TEST(BertConfig, DefaultsFollowTransformers) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", R"({"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 16, "vocab_size": 10})");
  const BertConfig c = read_bert_config(dir / "config.json");
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_FALSE(c.torch_dtype.has_value());
}

struct BadConfig {
  const char* what;
  std::string text;
  const char* problem;  // a substring of CheckpointError::problem()
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.what; }

class BertConfigRefuses : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BertConfigRefuses, NamingTheFileAndTheField) {
  testing::TempDir dir;
  const auto file = dir / "config.json";
  testing::write_text(file, GetParam().text);
  try {
    read_bert_config(file);
    FAIL() << "accepted: " << GetParam().text;
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.file(), file);
    EXPECT_NE(e.problem().find(GetParam().problem), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BertConfigRefuses,
    ::testing::Values(BadConfig{"missing hidden_size", with("hidden_size", ""), "lacks the required field hidden_size"},
                      BadConfig{"string integer", with("num_hidden_layers", R"("6")"), "num_hidden_layers is a string"},
                      BadConfig{"float integer", with("vocab_size", "30522.5"), "vocab_size is a non-integer number"},
                      BadConfig{"zero layers", with("num_hidden_layers", "0"), "num_hidden_layers is 0, not positive"},
                      BadConfig{"heads not dividing", with("num_attention_heads", "7"),
                                "does not divide hidden_size 384"},
                      BadConfig{"tanh gelu", with("hidden_act", R"("gelu_new")"), "hidden_act is 'gelu_new'"},
                      BadConfig{"other model", with("model_type", R"("roberta")"), "model_type is 'roberta'"},
                      BadConfig{"relative positions", with("position_embedding_type", R"("relative_key")"),
                                "position_embedding_type"},
                      BadConfig{"decoder", with("is_decoder", "true"), "is_decoder is true"},
                      BadConfig{"cross attention", with("add_cross_attention", "true"), "add_cross_attention is true"},
                      BadConfig{"zero eps", with("layer_norm_eps", "0"), "layer_norm_eps"},
                      BadConfig{"pad outside vocab", with("pad_token_id", "30522"), "pad_token_id 30522 is outside"},
                      BadConfig{"no token types", with("type_vocab_size", "0"), "type_vocab_size is 0"},
                      BadConfig{"unknown dtype", with("torch_dtype", R"("int4")"), "torch_dtype 'int4'"},
                      BadConfig{"not an object", "[1, 2]", "not an object"},
                      BadConfig{"malformed JSON", R"({"hidden_size": 384,)", ""},
                      BadConfig{"repeated key", R"({"hidden_size": 384, "hidden_size": 8})", "hidden_size"}));

TEST(BertConfig, MissingFileIsNamed) {
  testing::TempDir dir;
  EXPECT_THROW(read_bert_config(dir / "config.json"), CheckpointError);
}

TEST(BertPoolingConfig, OnlyMeanPoolingOfTheHiddenSize) {
  testing::TempDir dir;
  const auto file = dir / "config.json";
  testing::write_text(file, R"({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true,
    "pooling_mode_cls_token": false, "pooling_mode_max_tokens": false})");
  EXPECT_NO_THROW(check_mean_pooling_config(file, 384));
  EXPECT_THROW(check_mean_pooling_config(file, 768), CheckpointError);
  testing::write_text(file, R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true})");
  EXPECT_THROW(check_mean_pooling_config(file, 384), CheckpointError);
  testing::write_text(file, R"({"pooling_mode_cls_token": true})");
  EXPECT_THROW(check_mean_pooling_config(file, 384), CheckpointError);
}

}  // namespace
}  // namespace smoothcheck::models
