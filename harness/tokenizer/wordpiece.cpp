#include "harness/tokenizer/wordpiece.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::tokenizer {

namespace chars {

namespace {

struct Range {
  char32_t lo, hi;
};

template <std::size_t N>
bool in_ranges(const Range (&table)[N], char32_t c) {
  // Tables are sorted and disjoint: the first range ending at or after c decides.
  const Range* r =
      std::lower_bound(std::begin(table), std::end(table), c, [](const Range& x, char32_t v) { return x.hi < v; });
  return r != std::end(table) && r->lo <= c;
}

// General_Category Zs (Unicode 14), plus the line and paragraph separators (Zl, Zp), which transformers
// splits at too (Python's str.split and Rust's char::is_whitespace both count them).
constexpr Range kWhitespace[] = {{0x0020, 0x0020}, {0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                                 {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};

// General_Category Cc, Cf, Co, Cs (Unicode 14). Cn (unassigned) is left out: it would need the whole
// assignment table, and unassigned code points do not occur in real text.
constexpr Range kControl[] = {{0x0000, 0x001F},   {0x007F, 0x009F},    {0x00AD, 0x00AD},   {0x0600, 0x0605},
                              {0x061C, 0x061C},   {0x06DD, 0x06DD},    {0x070F, 0x070F},   {0x0890, 0x0891},
                              {0x08E2, 0x08E2},   {0x180E, 0x180E},    {0x200B, 0x200F},   {0x202A, 0x202E},
                              {0x2060, 0x2064},   {0x2066, 0x206F},    {0xD800, 0xF8FF},   {0xFEFF, 0xFEFF},
                              {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD},  {0x110CD, 0x110CD}, {0x13430, 0x13438},
                              {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},  {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
                              {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD}};

// General_Category P* (Unicode 14) outside ASCII; ASCII punctuation is decided by the ASCII rule.
constexpr Range kPunctuation[] = {
    {0x00A1, 0x00A1},   {0x00A7, 0x00A7},   {0x00AB, 0x00AB},   {0x00B6, 0x00B7},   {0x00BB, 0x00BB},
    {0x00BF, 0x00BF},   {0x037E, 0x037E},   {0x0387, 0x0387},   {0x055A, 0x055F},   {0x0589, 0x058A},
    {0x05BE, 0x05BE},   {0x05C0, 0x05C0},   {0x05C3, 0x05C3},   {0x05C6, 0x05C6},   {0x05F3, 0x05F4},
    {0x0609, 0x060A},   {0x060C, 0x060D},   {0x061B, 0x061B},   {0x061D, 0x061F},   {0x066A, 0x066D},
    {0x06D4, 0x06D4},   {0x0700, 0x070D},   {0x07F7, 0x07F9},   {0x0830, 0x083E},   {0x085E, 0x085E},
    {0x0964, 0x0965},   {0x0970, 0x0970},   {0x09FD, 0x09FD},   {0x0A76, 0x0A76},   {0x0AF0, 0x0AF0},
    {0x0C77, 0x0C77},   {0x0C84, 0x0C84},   {0x0DF4, 0x0DF4},   {0x0E4F, 0x0E4F},   {0x0E5A, 0x0E5B},
    {0x0F04, 0x0F12},   {0x0F14, 0x0F14},   {0x0F3A, 0x0F3D},   {0x0F85, 0x0F85},   {0x0FD0, 0x0FD4},
    {0x0FD9, 0x0FDA},   {0x104A, 0x104F},   {0x10FB, 0x10FB},   {0x1360, 0x1368},   {0x1400, 0x1400},
    {0x166E, 0x166E},   {0x169B, 0x169C},   {0x16EB, 0x16ED},   {0x1735, 0x1736},   {0x17D4, 0x17D6},
    {0x17D8, 0x17DA},   {0x1800, 0x180A},   {0x1944, 0x1945},   {0x1A1E, 0x1A1F},   {0x1AA0, 0x1AA6},
    {0x1AA8, 0x1AAD},   {0x1B5A, 0x1B60},   {0x1B7D, 0x1B7E},   {0x1BFC, 0x1BFF},   {0x1C3B, 0x1C3F},
    {0x1C7E, 0x1C7F},   {0x1CC0, 0x1CC7},   {0x1CD3, 0x1CD3},   {0x2010, 0x2027},   {0x2030, 0x2043},
    {0x2045, 0x2051},   {0x2053, 0x205E},   {0x207D, 0x207E},   {0x208D, 0x208E},   {0x2308, 0x230B},
    {0x2329, 0x232A},   {0x2768, 0x2775},   {0x27C5, 0x27C6},   {0x27E6, 0x27EF},   {0x2983, 0x2998},
    {0x29D8, 0x29DB},   {0x29FC, 0x29FD},   {0x2CF9, 0x2CFC},   {0x2CFE, 0x2CFF},   {0x2D70, 0x2D70},
    {0x2E00, 0x2E2E},   {0x2E30, 0x2E4F},   {0x2E52, 0x2E5D},   {0x3001, 0x3003},   {0x3008, 0x3011},
    {0x3014, 0x301F},   {0x3030, 0x3030},   {0x303D, 0x303D},   {0x30A0, 0x30A0},   {0x30FB, 0x30FB},
    {0xA4FE, 0xA4FF},   {0xA60D, 0xA60F},   {0xA673, 0xA673},   {0xA67E, 0xA67E},   {0xA6F2, 0xA6F7},
    {0xA874, 0xA877},   {0xA8CE, 0xA8CF},   {0xA8F8, 0xA8FA},   {0xA8FC, 0xA8FC},   {0xA92E, 0xA92F},
    {0xA95F, 0xA95F},   {0xA9C1, 0xA9CD},   {0xA9DE, 0xA9DF},   {0xAA5C, 0xAA5F},   {0xAADE, 0xAADF},
    {0xAAF0, 0xAAF1},   {0xABEB, 0xABEB},   {0xFD3E, 0xFD3F},   {0xFE10, 0xFE19},   {0xFE30, 0xFE52},
    {0xFE54, 0xFE61},   {0xFE63, 0xFE63},   {0xFE68, 0xFE68},   {0xFE6A, 0xFE6B},   {0xFF01, 0xFF03},
    {0xFF05, 0xFF0A},   {0xFF0C, 0xFF0F},   {0xFF1A, 0xFF1B},   {0xFF1F, 0xFF20},   {0xFF3B, 0xFF3D},
    {0xFF3F, 0xFF3F},   {0xFF5B, 0xFF5B},   {0xFF5D, 0xFF5D},   {0xFF5F, 0xFF65},   {0x10100, 0x10102},
    {0x1039F, 0x1039F}, {0x103D0, 0x103D0}, {0x1056F, 0x1056F}, {0x10857, 0x10857}, {0x1091F, 0x1091F},
    {0x1093F, 0x1093F}, {0x10A50, 0x10A58}, {0x10A7F, 0x10A7F}, {0x10AF0, 0x10AF6}, {0x10B39, 0x10B3F},
    {0x10B99, 0x10B9C}, {0x10EAD, 0x10EAD}, {0x10F55, 0x10F59}, {0x10F86, 0x10F89}, {0x11047, 0x1104D},
    {0x110BB, 0x110BC}, {0x110BE, 0x110C1}, {0x11140, 0x11143}, {0x11174, 0x11175}, {0x111C5, 0x111C8},
    {0x111CD, 0x111CD}, {0x111DB, 0x111DB}, {0x111DD, 0x111DF}, {0x11238, 0x1123D}, {0x112A9, 0x112A9},
    {0x1144B, 0x1144F}, {0x1145A, 0x1145B}, {0x1145D, 0x1145D}, {0x114C6, 0x114C6}, {0x115C1, 0x115D7},
    {0x11641, 0x11643}, {0x11660, 0x1166C}, {0x116B9, 0x116B9}, {0x1173C, 0x1173E}, {0x1183B, 0x1183B},
    {0x11944, 0x11946}, {0x119E2, 0x119E2}, {0x11A3F, 0x11A46}, {0x11A9A, 0x11A9C}, {0x11A9E, 0x11AA2},
    {0x11C41, 0x11C45}, {0x11C70, 0x11C71}, {0x11EF7, 0x11EF8}, {0x11FFF, 0x11FFF}, {0x12470, 0x12474},
    {0x12FF1, 0x12FF2}, {0x16A6E, 0x16A6F}, {0x16AF5, 0x16AF5}, {0x16B37, 0x16B3B}, {0x16B44, 0x16B44},
    {0x16E97, 0x16E9A}, {0x16FE2, 0x16FE2}, {0x1BC9F, 0x1BC9F}, {0x1DA87, 0x1DA8B}, {0x1E95E, 0x1E95F}};

// The CJK blocks BERT isolates (Unified Ideographs, Extensions A-E, Compatibility Ideographs and their
// Supplement). Hangul, Hiragana and Katakana are not among them: they are written with spaces.
constexpr Range kCjk[] = {{0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xF900, 0xFAFF},   {0x20000, 0x2A6DF},
                          {0x2A700, 0x2B73F}, {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0x2F800, 0x2FA1F}};

// Mn in the blocks of combining diacritics (Unicode 14); 1ABE and 20DD-20E0/20E2-20E4 are enclosing
// marks (Me), which accent stripping keeps.
constexpr Range kCombining[] = {{0x0300, 0x036F}, {0x1AB0, 0x1ABD}, {0x1ABF, 0x1ACE}, {0x1DC0, 0x1DFF},
                                {0x20D0, 0x20DC}, {0x20E1, 0x20E1}, {0x20E5, 0x20F0}, {0xFE20, 0xFE2F}};

// The canonical decomposition's base letter of U+00C0..U+017F (the letter without its combining marks);
// letters that have no canonical decomposition (Æ, Ð, Ø, Þ, ß, Đ, Ħ, ı, Ĳ, ĸ, Ŀ, Ł, ŉ, Ŋ, Œ, Ŧ, ſ and the
// operators × ÷) map to themselves.
constexpr char32_t kLatinBase[] =
    U"AAAAAAÆCEEEEIIIIÐNOOOOO×ØUUUUYÞßaaaaaaæceeeeiiiiðnooooo÷øuuuuyþy"              // U+00C0..U+00FF
    U"AaAaAaCcCcCcCcDdĐđEeEeEeEeEeGgGgGgGgHhĦħIiIiIiIiIıĲĳJjKkĸLlLlLlĿŀŁłNnNnNnŉŊŋ"  // U+0100..U+014B
    U"OoOoOoŒœRrRrRrSsSsSsSsTtTtŦŧUuUuUuUuUuUuWwYyYZzZzZzſ";                         // U+014C..U+017F
static_assert(sizeof(kLatinBase) / sizeof(char32_t) == 0x180 - 0xC0 + 1, "one base letter per code point");

// Greek and Cyrillic letters with a canonical decomposition, and their base letter; and the canonical
// singletons of punctuation in those blocks (Greek question mark -> ';', ano teleia -> '·', the old
// angle brackets -> the CJK ones), which split as punctuation but under another code point.
constexpr std::pair<char32_t, char32_t> kOtherBase[] = {
    {0x0374, 0x02B9}, {0x037E, 0x003B}, {0x0385, 0x00A8}, {0x0387, 0x00B7}, {0x2329, 0x3008}, {0x232A, 0x3009},
    {0x0386, 0x0391}, {0x0388, 0x0395}, {0x0389, 0x0397}, {0x038A, 0x0399}, {0x038C, 0x039F}, {0x038E, 0x03A5},
    {0x038F, 0x03A9}, {0x0390, 0x03B9}, {0x03AA, 0x0399}, {0x03AB, 0x03A5}, {0x03AC, 0x03B1}, {0x03AD, 0x03B5},
    {0x03AE, 0x03B7}, {0x03AF, 0x03B9}, {0x03B0, 0x03C5}, {0x03CA, 0x03B9}, {0x03CB, 0x03C5}, {0x03CC, 0x03BF},
    {0x03CD, 0x03C5}, {0x03CE, 0x03C9}, {0x03D3, 0x03D2}, {0x03D4, 0x03D2}, {0x0400, 0x0415}, {0x0401, 0x0415},
    {0x0403, 0x0413}, {0x0407, 0x0406}, {0x040C, 0x041A}, {0x040D, 0x0418}, {0x040E, 0x0423}, {0x0419, 0x0418},
    {0x0439, 0x0438}, {0x0450, 0x0435}, {0x0451, 0x0435}, {0x0453, 0x0433}, {0x0457, 0x0456}, {0x045C, 0x043A},
    {0x045D, 0x0438}, {0x045E, 0x0443}, {0x0476, 0x0474}, {0x0477, 0x0475}};

bool in_closed(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

}  // namespace

bool is_whitespace(char32_t c) { return c == U'\t' || c == U'\n' || c == U'\r' || in_ranges(kWhitespace, c); }

bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  return in_ranges(kControl, c);
}

bool is_punctuation(char32_t c) {
  // BERT counts every ASCII non-alphanumeric printable as punctuation, Unicode's symbols ($ + < = > ^ ` | ~) too.
  if (in_closed(c, 33, 47) || in_closed(c, 58, 64) || in_closed(c, 91, 96) || in_closed(c, 123, 126)) return true;
  return c > 0x7F && in_ranges(kPunctuation, c);
}

bool is_cjk_ideograph(char32_t c) { return in_ranges(kCjk, c); }

bool is_combining_mark(char32_t c) { return in_ranges(kCombining, c); }

char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= U'A' && c <= U'Z') ? c + 32 : c;
  if (in_closed(c, 0xC0, 0xDE)) return c == 0xD7 ? c : c + 0x20;  // Latin-1; U+00D7 is ×
  if (in_closed(c, 0x100, 0x17F)) {
    // Python lower-cases İ to "i" + U+0307; this is the single letter that the accent stripping which
    // always follows in an uncased tokenizer leaves of it.
    if (c == 0x130) return U'i';
    if (c == 0x178) return 0xFF;  // Ÿ -> ÿ
    // Case pairs: upper on even code points in 0100-0137 and 014A-0177, on odd ones in 0139-0148 and
    // 0179-017E; ĸ, ŉ and ſ have no upper case.
    if (in_closed(c, 0x100, 0x137) || in_closed(c, 0x14A, 0x177)) return c % 2 == 0 ? c + 1 : c;
    if (in_closed(c, 0x139, 0x148) || in_closed(c, 0x179, 0x17E)) return c % 2 == 1 ? c + 1 : c;
    return c;
  }
  if (in_closed(c, 0x370, 0x3FF)) {  // Greek
    if (c == 0x386) return 0x3AC;
    if (in_closed(c, 0x388, 0x38A)) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (in_closed(c, 0x38E, 0x38F)) return c + 63;
    if (in_closed(c, 0x391, 0x3AB) && c != 0x3A2) return c + 32;
    if (in_closed(c, 0x3D8, 0x3EF)) return c % 2 == 0 ? c + 1 : c;  // archaic letters and Coptic pairs
    return c;
  }
  if (in_closed(c, 0x400, 0x52F)) {  // Cyrillic
    if (in_closed(c, 0x400, 0x40F)) return c + 80;
    if (in_closed(c, 0x410, 0x42F)) return c + 32;
    if (in_closed(c, 0x460, 0x481) || in_closed(c, 0x48A, 0x4BF) || in_closed(c, 0x4D0, 0x52F))
      return c % 2 == 0 ? c + 1 : c;
    if (c == 0x4C0) return 0x4CF;
    if (in_closed(c, 0x4C1, 0x4CE)) return c % 2 == 1 ? c + 1 : c;
    return c;
  }
  if (in_closed(c, 0x531, 0x556)) return c + 48;  // Armenian
  if (in_closed(c, 0x1E00, 0x1E95) || in_closed(c, 0x1EA0, 0x1EFF)) return c % 2 == 0 ? c + 1 : c;
  if (c == 0x1E9E) return 0xDF;                     // ẞ -> ß
  if (in_closed(c, 0xFF21, 0xFF3A)) return c + 32;  // fullwidth Latin
  return c;
}

char32_t strip_accent(char32_t c) {
  if (in_closed(c, 0xC0, 0x17F)) return kLatinBase[c - 0xC0];
  for (const auto& [letter, base] : kOtherBase)
    if (letter == c) return base;
  return c;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n;
    char32_t c;
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2, c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3, c = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4, c = b0 & 0x07;
    } else {
      out.push_back(0xFFFD);  // a continuation byte where a lead byte belongs, C0/C1, or F5..FF
      ++i;
      continue;
    }
    std::size_t k = 1;
    for (; k < n && i + k < s.size(); ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) break;
      c = (c << 6) | (b & 0x3F);
    }
    const bool overlong = (n == 3 && c < 0x800) || (n == 4 && c < 0x10000);
    if (k < n || overlong || c > 0x10FFFF || in_closed(c, 0xD800, 0xDFFF)) {
      out.push_back(0xFFFD);
      i += k;  // resume at the byte that broke the sequence
      continue;
    }
    out.push_back(c);
    i += n;
  }
  return out;
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  const std::u32string d = decode_utf8(s);
  // U+FFFD is valid when it was written as such; re-encoding tells the two apart.
  return encode_utf8(d) == s;
}

}  // namespace chars

namespace {

using checkpoint::CheckpointError;

// vocab.txt of bert-base-uncased is 232 kB; anything past this is not a vocabulary.
constexpr std::uintmax_t kMaxVocabBytes = 64ull << 20;

}  // namespace

WordPieceTokenizer WordPieceTokenizer::from_file(const std::filesystem::path& vocab_txt,
                                                 const WordPieceOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(vocab_txt, ec)) throw CheckpointError(vocab_txt, "vocabulary file not found");
  const auto size = std::filesystem::file_size(vocab_txt, ec);
  if (ec) throw CheckpointError(vocab_txt, "cannot stat the vocabulary file: " + ec.message());
  if (size > kMaxVocabBytes)
    throw CheckpointError(
        vocab_txt, "is " + std::to_string(size) + " bytes; a vocabulary is at most " + std::to_string(kMaxVocabBytes));
  std::ifstream in(vocab_txt, std::ios::binary);
  if (!in) throw CheckpointError(vocab_txt, "cannot open the vocabulary file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw CheckpointError(vocab_txt, "read error");

  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();  // a last line without its newline
    tokens.emplace_back(text, start, end - start);
    start = end + 1;
  }
  return WordPieceTokenizer(std::move(tokens), options, vocab_txt);
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, const WordPieceOptions& options,
                                       const std::filesystem::path& origin)
    : options_(options), strip_accents_(options.strip_accents.value_or(options.lower_case)), vocab_(std::move(vocab)) {
  if (vocab_.empty()) throw CheckpointError(origin, "the vocabulary is empty");
  if (options_.max_chars_per_word == 0) throw CheckpointError(origin, "max_chars_per_word must be positive");
  ids_.reserve(vocab_.size());
  for (std::size_t i = 0; i < vocab_.size(); ++i) {
    const std::string& t = vocab_[i];
    const std::string where = "line " + std::to_string(i + 1) + " (id " + std::to_string(i) + ")";
    if (t.empty()) throw CheckpointError(origin, where + " is empty");
    if (t.find('\r') != std::string::npos)
      throw CheckpointError(origin, where + " ends in a carriage return; the file has CRLF line endings");
    if (t.find('\0') != std::string::npos) throw CheckpointError(origin, where + " holds a NUL byte");
    if (!chars::is_valid_utf8(t)) throw CheckpointError(origin, where + " is not valid UTF-8");
    const auto [it, inserted] = ids_.emplace(t, static_cast<std::int64_t>(i));
    if (!inserted)
      throw CheckpointError(origin, where + " repeats the token '" + t + "' of line " + std::to_string(it->second + 1));
  }
  const auto required = [&](const std::string& name) {
    const auto it = ids_.find(name);
    if (it == ids_.end()) throw CheckpointError(origin, "the vocabulary lacks the special token " + name);
    specials_.push_back(chars::decode_utf8(name));
    special_words_.push_back(name);
    return it->second;
  };
  unk_id_ = required(options_.unk_token);
  cls_id_ = required(options_.cls_token);
  sep_id_ = required(options_.sep_token);
  pad_id_ = required(options_.pad_token);
  if (!options_.mask_token.empty() && ids_.count(options_.mask_token)) {
    specials_.push_back(chars::decode_utf8(options_.mask_token));
    special_words_.push_back(options_.mask_token);
  }
}

void WordPieceTokenizer::basic_tokenize_plain(std::u32string_view text, std::vector<std::string>& out) const {
  std::u32string word;
  const auto flush = [&] {
    if (!word.empty()) out.push_back(chars::encode_utf8(word));
    word.clear();
  };
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || chars::is_control(c)) continue;
    if (chars::is_whitespace(c)) {
      flush();
      continue;
    }
    if (options_.split_cjk && chars::is_cjk_ideograph(c)) {
      flush();
      out.push_back(chars::encode_utf8(std::u32string(1, c)));
      continue;
    }
    // Lower-casing, then decomposition without marks: both map one letter to one letter here (the
    // tables hold no expanding mapping), so doing them per code point equals doing them per word.
    if (options_.lower_case) c = chars::to_lower(c);
    if (strip_accents_) {
      if (chars::is_combining_mark(c)) continue;
      if (c >= 0xAC00 && c <= 0xD7A3) {
        // Hangul syllables decompose (canonically, by arithmetic) into leading consonant, vowel and
        // optional trailing consonant jamo, none of them a mark: the word then holds the jamo.
        const char32_t s = c - 0xAC00;
        word.push_back(0x1100 + s / (21 * 28));
        word.push_back(0x1161 + (s % (21 * 28)) / 28);
        if (s % 28 != 0) word.push_back(0x11A7 + s % 28);
        continue;
      }
      c = chars::strip_accent(c);
    }
    if (chars::is_punctuation(c)) {
      flush();
      out.push_back(chars::encode_utf8(std::u32string(1, c)));
      continue;
    }
    word.push_back(c);
  }
  flush();
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  const std::u32string u = chars::decode_utf8(text);
  std::vector<std::string> out;
  // Special tokens are found in the raw text, leftmost first and longest at a position, and kept whole;
  // the text between them is tokenized on its own.
  std::size_t plain = 0;
  for (std::size_t i = 0; i < u.size();) {
    const std::u32string* hit = nullptr;
    for (const auto& s : specials_)
      if (u.compare(i, s.size(), s) == 0 && (hit == nullptr || s.size() > hit->size())) hit = &s;
    if (hit == nullptr) {
      ++i;
      continue;
    }
    basic_tokenize_plain(std::u32string_view(u).substr(plain, i - plain), out);
    out.push_back(chars::encode_utf8(*hit));
    i += hit->size();
    plain = i;
  }
  basic_tokenize_plain(std::u32string_view(u).substr(plain), out);
  return out;
}

std::vector<std::string> WordPieceTokenizer::wordpiece(std::string_view word_utf8) const {
  const std::u32string word = chars::decode_utf8(word_utf8);
  if (word.empty()) return {};
  if (word.size() > options_.max_chars_per_word) return {options_.unk_token};
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start < word.size()) {
    // The longest vocabulary entry that starts here; continuations carry the "##" prefix.
    std::size_t end = word.size();
    std::string found;
    for (; end > start; --end) {
      std::string candidate = (start > 0 ? "##" : "") + chars::encode_utf8(word.substr(start, end - start));
      if (ids_.count(candidate)) {
        found = std::move(candidate);
        break;
      }
    }
    if (found.empty()) return {options_.unk_token};  // one uncovered position makes the whole word unknown
    pieces.push_back(std::move(found));
    start = end;
  }
  return pieces;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> pieces;
  for (const std::string& w : basic_tokenize(text)) {
    // basic_tokenize splits brackets off every plain word, so a word spelled like a special token is one
    // that was matched in the text.
    if (std::find(special_words_.begin(), special_words_.end(), w) != special_words_.end()) {
      pieces.push_back(w);
      continue;
    }
    for (std::string& p : wordpiece(w)) pieces.push_back(std::move(p));
  }
  return pieces;
}

std::vector<std::int64_t> WordPieceTokenizer::encode(std::string_view text, std::size_t max_length) const {
  if (max_length < 2)
    throw std::invalid_argument("WordPieceTokenizer::encode: max_length " + std::to_string(max_length) +
                                " leaves no room for [CLS] and [SEP]");
  const std::vector<std::string> pieces = tokenize(text);
  const std::size_t keep = std::min(pieces.size(), max_length - 2);
  std::vector<std::int64_t> ids;
  ids.reserve(keep + 2);
  ids.push_back(cls_id_);
  for (std::size_t i = 0; i < keep; ++i) ids.push_back(ids_.at(pieces[i]));
  ids.push_back(sep_id_);
  return ids;
}

std::optional<std::int64_t> WordPieceTokenizer::find(const std::string& token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::int64_t WordPieceTokenizer::id(const std::string& token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) throw std::out_of_range("token '" + token + "' is not in the vocabulary");
  return it->second;
}

const std::string& WordPieceTokenizer::token(std::int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size())
    throw std::out_of_range("token id " + std::to_string(id) + " outside [0, " + std::to_string(vocab_.size()) + ")");
  return vocab_[static_cast<std::size_t>(id)];
}

}  // namespace smoothcheck::tokenizer
