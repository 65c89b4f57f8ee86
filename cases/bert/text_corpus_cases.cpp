// The calibration text: sentence splitting, packing into chunks of at most N tokens, and the Debian
// licence corpus read with the real MiniLM vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "bert_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/tokenizer/text_corpus.h"

namespace smoothcheck::tokenizer {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// Every lower-case letter is a piece, alone or continued, so a word of n letters is n pieces.
WordPieceTokenizer letter_tokenizer() {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", ".", ",", "!", "?", "(", ")", "\""};
  for (char c = 'a'; c <= 'z'; ++c) {
    v.push_back(std::string(1, c));
    v.push_back("##" + std::string(1, c));
  }
  return WordPieceTokenizer(v);
}

std::string joined(const std::vector<TextChunk>& chunks) {
  std::string s;
  for (const auto& c : chunks) s += (s.empty() ? "" : " ") + c.text;
  return s;
}

std::string joined(const Strings& sentences) {
  std::string s;
  for (const auto& t : sentences) s += (s.empty() ? "" : " ") + t;
  return s;
}

TEST(TextCorpus, SplitsSentencesAndCollapsesWhitespace) {
  EXPECT_EQ(split_sentences("Hello  world. This is\nit!  Next?\nyes"),
            (Strings{"Hello world.", "This is it!", "Next?", "yes"}));
  EXPECT_EQ(split_sentences("He said \"stop.\" Then (he left.) Done."),
            (Strings{"He said \"stop.\"", "Then (he left.)", "Done."}));
  EXPECT_EQ(split_sentences(""), Strings{});
  EXPECT_EQ(split_sentences(" \n\n \t"), Strings{});
}

TEST(TextCorpus, PeriodsOfAbbreviationsNumbersAndLettersDoNotEndASentence) {
  EXPECT_EQ(split_sentences("Use e.g. this, i.e. that. Free Software Foundation, Inc. is here."),
            (Strings{"Use e.g. this, i.e. that.", "Free Software Foundation, Inc. is here."}));
  EXPECT_EQ(split_sentences("0. Definitions. Item a. applies. Version 3.14 holds."),
            (Strings{"0. Definitions.", "Item a. applies.", "Version 3.14 holds."}));
  EXPECT_EQ(split_sentences("a.b.c is one word. x"), (Strings{"a.b.c is one word.", "x"}));
}

TEST(TextCorpus, BlankLinesEndHeadings) {
  EXPECT_EQ(
      split_sentences("  GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007\n\n  Preamble\n \n  The text\nwraps."),
      (Strings{"GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007", "Preamble", "The text wraps."}));
}

TEST(TextCorpus, ChunksPackSentencesWithinTheBudget) {
  const auto t = letter_tokenizer();
  const Strings sentences = {"ab cd.", "efg.", "hijklmn opq.", "r."};  // 5, 4, 11, 2 pieces
  const auto chunks = chunk_sentences(sentences, t, 12);               // 10 pieces between [CLS] and [SEP]
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].text, "ab cd. efg.");
  EXPECT_EQ(chunks[1].text, "hijklmn");  // the 11-piece sentence is cut between its words
  EXPECT_EQ(chunks[2].text, "opq. r.");
  for (const auto& c : chunks) {
    EXPECT_LE(c.ids.size(), 12u);
    EXPECT_EQ(c.ids, t.encode(c.text, 12));
  }
  EXPECT_EQ(joined(chunks), joined(sentences));
}

TEST(TextCorpus, AWordLongerThanTheBudgetIsAChunkOfItsOwn) {
  const auto t = letter_tokenizer();
  const auto chunks = chunk_sentences({"ab abcdefghij cd."}, t, 6);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].text, "abcdefghij");
  EXPECT_EQ(chunks[1].ids.size(), 6u);  // truncated: [CLS] a ##b ##c ##d [SEP]
  EXPECT_THROW(chunk_sentences({"a"}, t, 2), std::invalid_argument);
  EXPECT_TRUE(chunk_sentences({}, t, 8).empty());
}

TEST(TextCorpus, ReadingRefusesMissingAndNonUtf8Files) {
  const fs::path dir = fs::temp_directory_path() / "smoothcheck-corpus-missing";
  EXPECT_THROW(read_text_file(dir / "none.txt"), checkpoint::CheckpointError);
  const fs::path latin1 = fs::temp_directory_path() / "smoothcheck-corpus-latin1.txt";
  { std::ofstream(latin1, std::ios::binary) << "caf\xE9\n"; }
  try {
    read_text_file(latin1);
    ADD_FAILURE() << "read Latin-1 as text";
  } catch (const checkpoint::CheckpointError& e) {
    EXPECT_NE(e.problem().find("not UTF-8"), std::string::npos);
  }
  fs::remove(latin1);
  EXPECT_TRUE(debian_license_texts(dir).empty());
  EXPECT_THROW(calibration_chunks(letter_tokenizer(), 16, {}), checkpoint::CheckpointError);
}

TEST(TextCorpus, DebianLicencesChunkWithTheMiniLMVocabulary) {
  SMOOTHCHECK_REQUIRE_MINILM_DIR(minilm);
  const auto files = debian_license_texts();
  if (files.empty()) {
    // base-files ships them on every Debian system, CI's included.
    if (testing::minilm_required()) FAIL() << "no licence texts in /usr/share/common-licenses";
    GTEST_SKIP() << "no licence texts in /usr/share/common-licenses (not a Debian system)";
  }
  EXPECT_EQ(files.front().filename(), "GPL-3");
  const auto t = WordPieceTokenizer::from_file(minilm / "vocab.txt");
  const std::size_t n = 128;
  const auto chunks = calibration_chunks(t, n, {files.front()});
  // GPL-3 is ~35 kB, about 7,500 pieces: at least 60 chunks of at most 126.
  EXPECT_GE(chunks.size(), 60u);
  std::size_t ids = 0, unknown = 0, full = 0;
  for (const auto& c : chunks) {
    ASSERT_LE(c.ids.size(), n) << c.text;
    ASSERT_GE(c.ids.size(), 3u);
    EXPECT_EQ(c.ids.front(), t.cls_id());
    EXPECT_EQ(c.ids.back(), t.sep_id());
    ids += c.ids.size();
    unknown += static_cast<std::size_t>(std::count(c.ids.begin(), c.ids.end(), t.unk_id()));
    full += c.ids.size() > n / 2;
  }
  EXPECT_LT(unknown * 1000, ids) << "more than 0.1% [UNK] in English text";
  EXPECT_GT(full * 2, chunks.size()) << "packing should fill most chunks past half the budget";
  // Nothing lost or reordered: the chunks are the file's sentences in order.
  EXPECT_EQ(joined(chunks), joined(split_sentences(read_text_file(files.front()))));
  EXPECT_NE(chunks.front().text.find("GNU GENERAL PUBLIC LICENSE"), std::string::npos);
}

}  // namespace
}  // namespace smoothcheck::tokenizer
