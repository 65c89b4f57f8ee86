#include "harness/tokenizer/text_corpus.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::tokenizer {

namespace {

using checkpoint::CheckpointError;

constexpr std::uintmax_t kMaxTextBytes = 16ull << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Words after which a period is part of the word, compared lower-cased without the period.
bool is_abbreviation(std::string_view w) {
  static const char* const kAbbreviations[] = {"e.g", "i.e", "etc", "inc", "ltd", "co",  "corp", "no",  "vs", "cf",
                                               "mr",  "mrs", "ms",  "dr",  "st",  "sec", "u.s",  "fig", "vol"};
  std::string lower(w);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(std::begin(kAbbreviations), std::end(kAbbreviations), [&](const char* a) { return lower == a; });
}

// Whether the '.', '!' or '?' at text[i] ends a sentence: what follows (after closing quotes/brackets)
// is whitespace or the end, and for a period, the word before it is not an abbreviation, a single letter
// or a number.
bool ends_sentence(std::string_view s, std::size_t i) {
  std::size_t j = i + 1;
  while (j < s.size() && (s[j] == '"' || s[j] == '\'' || s[j] == ')' || s[j] == ']')) ++j;
  if (j < s.size() && !is_space(s[j])) return false;
  if (s[i] != '.') return true;
  std::size_t b = i;
  while (b > 0 && !is_space(s[b - 1]) && s[b - 1] != '(' && s[b - 1] != '"') --b;
  const std::string_view word = s.substr(b, i - b);
  if (word.empty()) return true;
  if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]))) return false;
  if (std::all_of(word.begin(), word.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }))
    return false;
  return !is_abbreviation(word);
}

// Appends s[from, to) with every whitespace run collapsed to one space and trimmed.
void append_collapsed(std::string& out, std::string_view s) {
  bool space = !out.empty();
  for (char c : s) {
    if (is_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
}

std::string join(const std::vector<std::string>& words, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (!out.empty()) out.push_back(' ');
    out += words[i];
  }
  return out;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t e = i;
    while (e < s.size() && s[e] != ' ') ++e;
    if (e > i) words.emplace_back(s, i, e - i);
    i = e;
  }
  return words;
}

}  // namespace

std::vector<std::filesystem::path> debian_license_texts(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const char* name : {"GPL-3", "Apache-2.0", "LGPL-3", "MPL-2.0", "GPL-2", "Artistic"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / name, ec)) files.push_back(dir / name);
  }
  return files;
}

std::string read_text_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw CheckpointError(file, "text file not found");
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw CheckpointError(file, "cannot stat: " + ec.message());
  if (size > kMaxTextBytes) throw CheckpointError(file, "is " + std::to_string(size) + " bytes, over the 16 MiB limit");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CheckpointError(file, "cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw CheckpointError(file, "read error");
  if (!chars::is_valid_utf8(text)) throw CheckpointError(file, "is not UTF-8 text");
  return text;
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> sentences;
  std::string current;
  const auto finish = [&] {
    if (!current.empty()) sentences.push_back(std::move(current));
    current.clear();
  };
  std::size_t start = 0;  // start of the text not yet appended to `current`
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      // A blank line (only whitespace up to the next newline) ends the sentence: headings and list
      // items carry no final period.
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '\n' && is_space(text[j])) ++j;
      if (j < text.size() && text[j] == '\n') {
        append_collapsed(current, text.substr(start, i - start));
        finish();
        start = j;
        i = j - 1;
      }
      continue;
    }
    if ((c == '.' || c == '!' || c == '?') && ends_sentence(text, i)) {
      std::size_t j = i + 1;
      while (j < text.size() && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) ++j;
      append_collapsed(current, text.substr(start, j - start));
      finish();
      start = j;
      i = j - 1;
    }
  }
  append_collapsed(current, text.substr(start));
  finish();
  return sentences;
}

std::vector<TextChunk> chunk_sentences(const std::vector<std::string>& sentences, const WordPieceTokenizer& tokenizer,
                                       std::size_t max_tokens) {
  if (max_tokens < 3)
    throw std::invalid_argument("chunk_sentences: max_tokens " + std::to_string(max_tokens) +
                                " leaves no room for a piece between [CLS] and [SEP]");
  const std::size_t budget = max_tokens - 2;
  // Basic tokenization splits at whitespace first, so the pieces of "a b" are those of "a" then of "b":
  // counts add up across the spaces that join sentences and words.
  std::vector<std::string> pieces_text;  // sentences, and parts of over-long ones, each within budget
  std::vector<std::size_t> pieces_count;
  for (const std::string& s : sentences) {
    const std::size_t n = tokenizer.tokenize(s).size();
    if (n == 0) continue;
    if (n <= budget) {
      pieces_text.push_back(s);
      pieces_count.push_back(n);
      continue;
    }
    const std::vector<std::string> words = split_words(s);
    std::size_t from = 0, count = 0;
    for (std::size_t w = 0; w < words.size(); ++w) {
      const std::size_t wn = tokenizer.tokenize(words[w]).size();
      if (count > 0 && count + wn > budget) {
        pieces_text.push_back(join(words, from, w));
        pieces_count.push_back(count);
        from = w;
        count = 0;
      }
      count += wn;
    }
    if (count > 0) {
      pieces_text.push_back(join(words, from, words.size()));
      pieces_count.push_back(count);
    }
  }

  std::vector<TextChunk> chunks;
  std::string text;
  std::size_t count = 0;
  const auto emit = [&] {
    if (text.empty()) return;
    chunks.push_back({text, tokenizer.encode(text, max_tokens)});
    text.clear();
    count = 0;
  };
  for (std::size_t i = 0; i < pieces_text.size(); ++i) {
    if (count > 0 && count + pieces_count[i] > budget) emit();
    if (!text.empty()) text.push_back(' ');
    text += pieces_text[i];
    count += pieces_count[i];
  }
  emit();
  return chunks;
}

std::vector<TextChunk> calibration_chunks(const WordPieceTokenizer& tokenizer, std::size_t max_tokens,
                                          const std::vector<std::filesystem::path>& files) {
  if (files.empty())
    throw CheckpointError("/usr/share/common-licenses",
                          "no calibration text: none of GPL-3, Apache-2.0, LGPL-3, MPL-2.0, GPL-2, Artistic is there "
                          "(Debian's base-files package ships them)");
  std::vector<TextChunk> chunks;
  for (const auto& f : files) {
    std::vector<TextChunk> part = chunk_sentences(split_sentences(read_text_file(f)), tokenizer, max_tokens);
    std::move(part.begin(), part.end(), std::back_inserter(chunks));
  }
  return chunks;
}

}  // namespace smoothcheck::tokenizer
