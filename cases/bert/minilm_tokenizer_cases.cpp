// The WordPiece tokenizer on all-MiniLM-L6-v2's vocab.txt against transformers' input ids
// (data/minilm_known_answers.json): exactly equal for every text, truncation to sentence-transformers'
// max_seq_length included.
#include <gtest/gtest.h>

#include "bert_test_support.h"
#include "harness/tokenizer/wordpiece.h"

namespace smoothcheck::tokenizer {
namespace {

std::string ids_string(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

TEST(MiniLMTokenizer, VocabularyAndSpecialIds) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto t = WordPieceTokenizer::from_file(minilm / "vocab.txt");
  EXPECT_EQ(t.vocab_size(), 30522u);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 100);
  EXPECT_EQ(t.cls_id(), 101);
  EXPECT_EQ(t.sep_id(), 102);
  EXPECT_EQ(t.id("[MASK]"), 103);
}

TEST(MiniLMTokenizer, IdsEqualTransformersForEveryText) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto answers = testing::load_known_answers();
  const auto t = WordPieceTokenizer::from_file(minilm / "vocab.txt");
  std::size_t checked = 0;
  for (const auto* group : {&answers.embedded, &answers.tokenized}) {
    for (const auto& a : *group) {
      const auto ids = t.encode(a.text, static_cast<std::size_t>(answers.max_seq_length));
      EXPECT_EQ(ids, a.input_ids) << "text: " << a.text << "\n  got      " << ids_string(ids) << "\n  expected "
                                  << ids_string(a.input_ids);
      ++checked;
    }
  }
  EXPECT_GE(checked, 20u);
}

TEST(MiniLMTokenizer, TruncatesToMaxSeqLength) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto answers = testing::load_known_answers();
  const auto t = WordPieceTokenizer::from_file(minilm / "vocab.txt");
  const auto& longest = answers.embedded.back();
  ASSERT_EQ(longest.input_ids.size(), static_cast<std::size_t>(answers.max_seq_length));
  EXPECT_GT(t.tokenize(longest.text).size() + 2, longest.input_ids.size());  // it was truncated
}

}  // namespace
}  // namespace smoothcheck::tokenizer
