// The WordPiece tokenizer's pieces on a small vocabulary built here: character classes, UTF-8 decoding,
// basic tokenization, greedy longest-match-first, [CLS]/[SEP] and truncation, and every malformed
// vocabulary it must refuse. The real vocabulary against transformers' ids is minilm_tokenizer_cases.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/tokenizer/wordpiece.h"

namespace smoothcheck::tokenizer {
namespace {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;
using Strings = std::vector<std::string>;

std::vector<std::string> small_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",    "##aff", "##able", "wa",    "want",      "##ed",
          "runn",  "##ing", ",",     ".",     "!",      "hello", "world", "creme",  "cafe",  "x",         "##x",
          "中",    "文",    "ab",    "cd",    "[",      "]",     "cls",   "y",      "Hello", "##\xC3\xA9"};
}

WordPieceTokenizer small(const WordPieceOptions& o = {}) { return WordPieceTokenizer(small_vocab(), o); }

TEST(WordPieceChars, ClassesFollowUnicodeCategories) {
  using namespace chars;
  for (char32_t c : {U' ', U'\t', U'\n', U'\r', char32_t{0xA0}, char32_t{0x2003}, char32_t{0x2028}, char32_t{0x3000}})
    EXPECT_TRUE(is_whitespace(c)) << std::hex << static_cast<unsigned>(c);
  for (char32_t c : {U'a', char32_t{0x200B}, char32_t{0x85}})
    EXPECT_FALSE(is_whitespace(c)) << std::hex << static_cast<unsigned>(c);

  for (char32_t c : {char32_t{0x07}, char32_t{0x1B}, char32_t{0x85}, char32_t{0xAD}, char32_t{0x200B}, char32_t{0x202E},
                     char32_t{0xFEFF}, char32_t{0xE000}})
    EXPECT_TRUE(is_control(c)) << std::hex << static_cast<unsigned>(c);
  for (char32_t c : {U'\t', U'\n', U'\r', U'a', U' '})
    EXPECT_FALSE(is_control(c)) << std::hex << static_cast<unsigned>(c);

  // ASCII symbols count as punctuation for BERT; non-ASCII symbols (€, ©, °) do not, P* does.
  for (char32_t c : {U'!', U'$', U'+', U'^', U'`', U'~', U'-', char32_t{0xBF}, char32_t{0xAB}, char32_t{0x2014},
                     char32_t{0x2026}, char32_t{0x3001}, char32_t{0xFF01}})
    EXPECT_TRUE(is_punctuation(c)) << std::hex << static_cast<unsigned>(c);
  for (char32_t c : {U'a', U'0', U' ', char32_t{0x20AC}, char32_t{0xA9}, char32_t{0xB0}})
    EXPECT_FALSE(is_punctuation(c)) << std::hex << static_cast<unsigned>(c);

  EXPECT_TRUE(is_cjk_ideograph(0x4E2D));
  EXPECT_TRUE(is_cjk_ideograph(0x20000));
  EXPECT_FALSE(is_cjk_ideograph(0x3042));  // hiragana: written with spaces, not split
  EXPECT_FALSE(is_cjk_ideograph(0xAC00));  // hangul
  EXPECT_TRUE(is_combining_mark(0x0301));
  EXPECT_FALSE(is_combining_mark(0x20DD));  // an enclosing mark (Me), not Mn
}

TEST(WordPieceChars, LowerCaseAndAccentTables) {
  using namespace chars;
  EXPECT_EQ(to_lower(U'A'), U'a');
  EXPECT_EQ(to_lower(0xC0), 0xE0u);    // À -> à
  EXPECT_EQ(to_lower(0xD7), 0xD7u);    // × has no case
  EXPECT_EQ(to_lower(0xDF), 0xDFu);    // ß
  EXPECT_EQ(to_lower(0x130), U'i');    // İ
  EXPECT_EQ(to_lower(0x141), 0x142u);  // Ł -> ł (odd-upper run)
  EXPECT_EQ(to_lower(0x178), 0xFFu);   // Ÿ -> ÿ
  EXPECT_EQ(to_lower(0x17F), 0x17Fu);  // ſ
  EXPECT_EQ(to_lower(0x3A3), 0x3C3u);  // Σ -> σ
  EXPECT_EQ(to_lower(0x401), 0x451u);  // Ё -> ё
  EXPECT_EQ(to_lower(0x416), 0x436u);  // Ж -> ж
  EXPECT_EQ(to_lower(0xFF21), 0xFF41u);

  EXPECT_EQ(strip_accent(0xE9), U'e');     // é
  EXPECT_EQ(strip_accent(0xC5), U'A');     // Å
  EXPECT_EQ(strip_accent(0x15B), U's');    // ś
  EXPECT_EQ(strip_accent(0x142), 0x142u);  // ł has no decomposition
  EXPECT_EQ(strip_accent(0xF8), 0xF8u);    // ø neither
  EXPECT_EQ(strip_accent(0x451), 0x435u);  // ё -> е
  EXPECT_EQ(strip_accent(0x3AC), 0x3B1u);  // ά -> α
  EXPECT_EQ(strip_accent(U'q'), U'q');
}

TEST(WordPieceChars, Utf8DecodingReplacesInvalidSequences) {
  using namespace chars;
  EXPECT_EQ(decode_utf8("a\xC3\xA9\xE2\x80\x94\xF0\x9F\x98\x80"), (std::u32string{U'a', 0xE9, 0x2014, 0x1F600}));
  EXPECT_EQ(encode_utf8(decode_utf8("a\xC3\xA9\xE2\x80\x94\xF0\x9F\x98\x80")), "a\xC3\xA9\xE2\x80\x94\xF0\x9F\x98\x80");
  EXPECT_EQ(decode_utf8("\xC3"), std::u32string(1, 0xFFFD));              // truncated
  EXPECT_EQ(decode_utf8("\xC3x"), (std::u32string{0xFFFD, U'x'}));        // resumes at the breaking byte
  EXPECT_EQ(decode_utf8("\xC0\xAF"), (std::u32string{0xFFFD, 0xFFFD}));   // overlong '/'
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), std::u32string(1, 0xFFFD));      // a surrogate
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80"), std::u32string(1, 0xFFFD));  // past U+10FFFF
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBD"));                             // U+FFFD itself
  EXPECT_FALSE(is_valid_utf8("ok\xFF"));
}

TEST(WordPieceBasic, SplitsPunctuationAndLowerCases) {
  const auto t = small();
  EXPECT_EQ(t.basic_tokenize("Hello, World!"), (Strings{"hello", ",", "world", "!"}));
  EXPECT_EQ(t.basic_tokenize("a-b$c"), (Strings{"a", "-", "b", "$", "c"}));
  EXPECT_EQ(t.basic_tokenize("price 5€"), (Strings{"price", "5€"}));  // € is a symbol, not punctuation
  EXPECT_EQ(t.basic_tokenize(""), Strings{});
}

TEST(WordPieceBasic, CleansWhitespaceAndControlCharacters) {
  const auto t = small();
  EXPECT_EQ(t.basic_tokenize(" \t a\u00A0b\u3000c\nd\u2028e  "), (Strings{"a", "b", "c", "d", "e"}));
  // Format and control characters vanish without splitting the word they sit in.
  EXPECT_EQ(t.basic_tokenize("zero\u200Bwidth soft\u00ADhyphen bell\x07!"),
            (Strings{"zerowidth", "softhyphen", "bell", "!"}));
  EXPECT_EQ(t.basic_tokenize("bad\xFFutf8"), (Strings{"badutf8"}));  // U+FFFD is dropped too
}

TEST(WordPieceBasic, StripsAccentsAndSplitsCjk) {
  const auto t = small();
  EXPECT_EQ(t.basic_tokenize("Crème BRÛLÉE"), (Strings{"creme", "brulee"}));
  EXPECT_EQ(t.basic_tokenize("cafe\u0301"), (Strings{"cafe"}));       // a decomposed accent
  EXPECT_EQ(t.basic_tokenize("Łódź Ærø"), (Strings{"łodz", "ærø"}));  // ł, æ, ø have no decomposition
  EXPECT_EQ(t.basic_tokenize("ab中文cd"), (Strings{"ab", "中", "文", "cd"}));
  EXPECT_EQ(t.basic_tokenize("한"), (Strings{"\u1112\u1161\u11AB"}));  // hangul into jamo, as NFD does

  WordPieceOptions cased;
  cased.lower_case = false;
  EXPECT_EQ(small(cased).basic_tokenize("Crème"), (Strings{"Crème"}));  // strip_accents follows lower_case
  cased.strip_accents = true;
  EXPECT_EQ(small(cased).basic_tokenize("Crème"), (Strings{"Creme"}));
  WordPieceOptions no_cjk;
  no_cjk.split_cjk = false;
  EXPECT_EQ(small(no_cjk).basic_tokenize("ab中文cd"), (Strings{"ab中文cd"}));
}

TEST(WordPieceBasic, KeepsSpecialTokensWrittenInTheText) {
  const auto t = small();
  EXPECT_EQ(t.basic_tokenize("[CLS] x[MASK]y"), (Strings{"[CLS]", "x", "[MASK]", "y"}));
  EXPECT_EQ(t.basic_tokenize("[cls]"), (Strings{"[", "cls", "]"}));  // matched case-sensitively, before lower-casing
  EXPECT_EQ(t.tokenize("[SEP][PAD]"), (Strings{"[SEP]", "[PAD]"}));
}

TEST(WordPieceGreedy, LongestMatchFirstWithContinuations) {
  const auto t = small();
  EXPECT_EQ(t.wordpiece("unaffable"), (Strings{"un", "##aff", "##able"}));
  EXPECT_EQ(t.wordpiece("wanted"), (Strings{"want", "##ed"}));  // "want" before "wa"
  EXPECT_EQ(t.wordpiece("running"), (Strings{"runn", "##ing"}));
  EXPECT_EQ(t.wordpiece("unwanted"), (Strings{"[UNK]"}));  // "##want" is absent: the whole word is unknown
  EXPECT_EQ(t.wordpiece("Hello"), (Strings{"Hello"}));     // wordpiece itself does not lower-case
  EXPECT_EQ(t.wordpiece(""), Strings{});
  EXPECT_EQ(t.tokenize("UNaffable, running!"), (Strings{"un", "##aff", "##able", ",", "runn", "##ing", "!"}));
}

TEST(WordPieceGreedy, WordsLongerThanTheLimitAreUnknown) {
  const auto t = small();
  const Strings hundred = t.wordpiece(std::string(100, 'x'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred.front(), "x");
  EXPECT_EQ(hundred.back(), "##x");
  EXPECT_EQ(t.wordpiece(std::string(101, 'x')), (Strings{"[UNK]"}));
  // The limit counts code points, not bytes.
  EXPECT_EQ(t.wordpiece(std::string(99, 'x') + "\xC3\xA9").size(), 100u);
  WordPieceOptions o;
  o.max_chars_per_word = 3;
  EXPECT_EQ(small(o).wordpiece("xxxx"), (Strings{"[UNK]"}));
  EXPECT_EQ(small(o).wordpiece("xxx"), (Strings{"x", "##x", "##x"}));
}

TEST(WordPieceEncode, AddsClsSepAndTruncates) {
  const auto t = small();
  EXPECT_EQ(t.encode("hello world"), (std::vector<std::int64_t>{2, 16, 17, 3}));
  EXPECT_EQ(t.encode(""), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(t.encode("hello world", 3), (std::vector<std::int64_t>{2, 16, 3}));
  EXPECT_EQ(t.encode("hello world", 2), (std::vector<std::int64_t>{2, 3}));
  EXPECT_THROW(t.encode("hello", 1), std::invalid_argument);
  EXPECT_EQ(t.encode("zzz"), (std::vector<std::int64_t>{2, 1, 3}));
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.token(16), "hello");
  EXPECT_EQ(t.id("world"), 17);
  EXPECT_FALSE(t.find("nope").has_value());
  EXPECT_THROW(t.id("nope"), std::out_of_range);
  EXPECT_THROW(t.token(-1), std::out_of_range);
  EXPECT_THROW(t.token(static_cast<std::int64_t>(t.vocab_size())), std::out_of_range);
}

// A vocab.txt with `body` written verbatim; the error must name the file and say what is wrong.
class MalformedVocab : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    fs::remove(file_, ec);
  }
  std::string error_for(const std::string& body) {
    {
      std::ofstream out(file_, std::ios::binary | std::ios::trunc);
      out << body;
    }
    try {
      WordPieceTokenizer::from_file(file_);
    } catch (const CheckpointError& e) {
      EXPECT_EQ(e.file(), file_);
      EXPECT_NE(std::string(e.what()).find(file_.string()), std::string::npos) << e.what();
      return e.problem();
    }
    ADD_FAILURE() << "accepted a malformed vocabulary: " << body;
    return {};
  }
  const fs::path file_ = fs::temp_directory_path() /
                         ("smoothcheck-vocab-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                          "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
};

const std::string kSpecials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";

TEST_F(MalformedVocab, RefusesEachDefectByName) {
  EXPECT_NE(error_for("").find("empty"), std::string::npos);
  EXPECT_NE(error_for(kSpecials + "a\n\nb\n").find("line 6 (id 5) is empty"), std::string::npos);
  EXPECT_NE(error_for("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n").find("CRLF"), std::string::npos);
  EXPECT_NE(error_for(kSpecials + "a\nb\na\n").find("line 7 (id 6) repeats the token 'a' of line 5"),
            std::string::npos);
  EXPECT_NE(error_for(kSpecials + "caf\xE9\n").find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(error_for(kSpecials + std::string("a\0b\n", 4)).find("NUL"), std::string::npos);
  EXPECT_NE(error_for("[PAD]\n[CLS]\n[SEP]\nhello\n").find("lacks the special token [UNK]"), std::string::npos);
}

TEST_F(MalformedVocab, MissingFileIsNamed) {
  try {
    WordPieceTokenizer::from_file(file_.string() + ".absent");
    FAIL() << "opened a missing file";
  } catch (const CheckpointError& e) {
    EXPECT_NE(e.problem().find("not found"), std::string::npos);
    EXPECT_EQ(e.file(), file_.string() + ".absent");
  }
}

TEST_F(MalformedVocab, LastLineNeedsNoNewline) {
  {
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    out << kSpecials << "hello";
  }
  const auto t = WordPieceTokenizer::from_file(file_);
  EXPECT_EQ(t.vocab_size(), 5u);
  EXPECT_EQ(t.id("hello"), 4);
}

}  // namespace
}  // namespace smoothcheck::tokenizer
