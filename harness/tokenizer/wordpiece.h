// BERT's tokenizer (the uncased WordPiece of all-MiniLM-L6-v2 and bert-base-uncased), from vocab.txt,
// written from the algorithm's description in the BERT paper and transformers' documentation:
//
//   1. special tokens ([CLS], [SEP], [UNK], [PAD], [MASK]) written literally in the text are kept whole,
//      as transformers matches its special tokens in the raw text before anything else;
//   2. clean-up: NUL, U+FFFD and control/format characters dropped, every whitespace character a space;
//   3. CJK ideographs surrounded by spaces, so each is a word of its own;
//   4. words split at whitespace; each lower-cased, accents stripped (the letter's canonical
//      decomposition without its combining marks), then split so that each punctuation char is a word;
//   5. WordPiece: greedy longest-match-first against the vocabulary, continuations spelled "##piece";
//      a word that cannot be covered, or longer than 100 code points, becomes [UNK] as a whole;
//   6. [CLS] pieces [SEP], the pieces truncated to max_length - 2.
//
// No ICU: the Unicode facts needed are small tables here. Whitespace, control/format and punctuation use
// Unicode 14's General_Category (Zs; Cc/Cf/Co/Cs; P*) in full. Lower-casing and decomposition cover the
// scripts calibration text is written in: Latin-1, Latin Extended-A, Latin Extended Additional's case
// pairs, modern Greek (U+0386-U+03CE) and Cyrillic (U+0400-U+045F), Armenian's case pairs, fullwidth
// Latin and Hangul syllables (decomposed into jamo, as NFD does); over those ranges the per-character
// result equals Python's lower() + NFD + removal of Mn exactly (checked when the tables were written).
// Known differences from transformers, all outside them: Latin Extended-B, Vietnamese and extended
// Cyrillic letters keep their accents (Extended-B its case too), archaic Greek letters their case, kana
// their voicing marks; combining marks are stripped only in the combining-diacritics blocks (not, e.g.,
// Cyrillic titlo or Indic vowel signs); CJK compatibility ideographs, the Ohm/Kelvin/Angstrom signs
// are not mapped to their canonical equivalents; Greek capital sigma always lower-cases to σ (Python
// picks ς at a word's end); unassigned code points are kept rather than dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smoothcheck::tokenizer {

// The character classes and mappings of the steps above, one code point at a time.
namespace chars {
bool is_whitespace(char32_t c);      // \t \n \r, Zs, and U+2028/U+2029 (line/paragraph separators)
bool is_control(char32_t c);         // Cc, Cf, Co, Cs except \t \n \r (those are whitespace)
bool is_punctuation(char32_t c);     // every ASCII non-alphanumeric printable, and P*
bool is_cjk_ideograph(char32_t c);   // the CJK Unified/Compatibility Ideographs blocks BERT splits
bool is_combining_mark(char32_t c);  // Mn in the combining-diacritics blocks
char32_t to_lower(char32_t c);       // simple lower case mapping; c when outside the tables
char32_t strip_accent(char32_t c);   // the base letter of a precomposed letter; c when it has none

// Decodes UTF-8; each invalid or truncated sequence, overlong form or surrogate becomes U+FFFD (which
// the clean-up step then drops, as it drops U+FFFD from a Python string).
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view s);
bool is_valid_utf8(std::string_view s);
}  // namespace chars

struct WordPieceOptions {
  bool lower_case = true;             // uncased vocabularies
  std::optional<bool> strip_accents;  // nullopt: follows lower_case, as transformers' default
  bool split_cjk = true;
  std::size_t max_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";  // optional in the vocabulary; matched in text when present
};

class WordPieceTokenizer {
 public:
  // vocab.txt: one token per line, its id the 0-based line number. Throws CheckpointError naming the file
  // and the line for: a missing or unreadable file, an empty vocabulary, invalid UTF-8, an empty line,
  // a carriage return (CRLF endings would make every token unmatchable), a repeated token, or a
  // missing [UNK]/[CLS]/[SEP]/[PAD].
  static WordPieceTokenizer from_file(const std::filesystem::path& vocab_txt, const WordPieceOptions& options = {});

  // The same checks on a token list built in code; `origin` names it in errors.
  explicit WordPieceTokenizer(std::vector<std::string> vocab, const WordPieceOptions& options = {},
                              const std::filesystem::path& origin = "<vocabulary>");

  // Steps 1-4: the words (and punctuation marks) WordPiece receives.
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  // Step 5 for one word (no whitespace in it): its pieces, or {unk_token}.
  std::vector<std::string> wordpiece(std::string_view word) const;
  // Steps 1-5: the pieces of the text, without [CLS]/[SEP].
  std::vector<std::string> tokenize(std::string_view text) const;
  // Steps 1-6: input ids [CLS] ... [SEP] of at most max_length ids (max_length >= 2, else
  // std::invalid_argument). The attention mask is all ones; token types all zeros.
  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_length = 512) const;

  std::optional<std::int64_t> find(const std::string& token) const;
  std::int64_t id(const std::string& token) const;  // std::out_of_range when absent
  const std::string& token(std::int64_t id) const;  // std::out_of_range when outside the vocabulary
  std::size_t vocab_size() const { return vocab_.size(); }
  std::int64_t unk_id() const { return unk_id_; }
  std::int64_t cls_id() const { return cls_id_; }
  std::int64_t sep_id() const { return sep_id_; }
  std::int64_t pad_id() const { return pad_id_; }
  const WordPieceOptions& options() const { return options_; }

 private:
  void basic_tokenize_plain(std::u32string_view text, std::vector<std::string>& out) const;

  WordPieceOptions options_;
  bool strip_accents_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, std::int64_t> ids_;
  std::vector<std::u32string> specials_;    // the special tokens present in the vocabulary, matched in text
  std::vector<std::string> special_words_;  // the same, in UTF-8
  std::int64_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0, pad_id_ = 0;
};

}  // namespace smoothcheck::tokenizer
