// Real English calibration text for the BERT model: the licence texts every Debian system ships in
// /usr/share/common-licenses (base-files), split into sentences and packed into chunks that encode to
// at most N tokens. SmoothQuant's statistics depend on the activation outliers of real text (numerics.md
// §1); random token ids, which the LLaMA pipeline can sample from the model itself, are no substitute for
// an encoder that cannot generate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tokenizer/wordpiece.h"

namespace smoothcheck::tokenizer {

// The licence texts used by default, in this order, those that exist: GPL-3, Apache-2.0, LGPL-3, MPL-2.0,
// GPL-2, Artistic. Empty when none does (not a Debian system).
std::vector<std::filesystem::path> debian_license_texts(
    const std::filesystem::path& dir = "/usr/share/common-licenses");

// The whole file; throws CheckpointError naming it when it is missing, unreadable, larger than 16 MiB,
// or not UTF-8.
std::string read_text_file(const std::filesystem::path& file);

// Sentences, whitespace collapsed to single spaces. A sentence ends at '.', '!' or '?' (with any closing
// quotes or brackets after it) followed by whitespace, and at a blank line (headings, list items).
// A period does not end one after a known abbreviation (e.g., i.e., etc., Inc., ...), a single letter
// or a number (section numbers "3.", list items "a."), so "0. Definitions." stays one sentence.
std::vector<std::string> split_sentences(std::string_view text);

struct TextChunk {
  std::string text;               // the sentences of the chunk, joined by single spaces
  std::vector<std::int64_t> ids;  // tokenizer.encode(text, max_tokens): [CLS] ... [SEP]
};

// Consecutive sentences packed greedily into chunks of at most max_tokens ids, [CLS] and [SEP] included.
// A sentence longer than that is cut at whitespace between words; a single word whose pieces alone
// exceed max_tokens - 2 (a long URL) becomes a chunk of its own whose ids are truncated. Throws
// std::invalid_argument when max_tokens < 3.
std::vector<TextChunk> chunk_sentences(const std::vector<std::string>& sentences, const WordPieceTokenizer& tokenizer,
                                       std::size_t max_tokens);

// The licence texts above, read, split and chunked, files in order. Throws CheckpointError when `files`
// is empty (naming the folder searched by default).
std::vector<TextChunk> calibration_chunks(const WordPieceTokenizer& tokenizer, std::size_t max_tokens,
                                          const std::vector<std::filesystem::path>& files = debian_license_texts());

}  // namespace smoothcheck::tokenizer
