#include "harness/checkpoint/pickle_scan.h"

#include <string>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::checkpoint {

namespace {

enum class Arg { none, fixed, line, two_lines, length_u8, length_u32, length_i32, length_u64, frame };

struct OpcodeShape {
  Arg arg = Arg::none;
  std::size_t width = 0;  // bytes of a fixed argument
  bool known = false;
};

// Argument layout of every opcode pickletools documents (protocols 0-5).
OpcodeShape shape_of(std::uint8_t op) {
  switch (op) {
    case '(': case '.': case '0': case '1': case '2': case 'N': case 'Q': case 'R': case 'a': case 'b':
    case 'd': case '}': case 'e': case 'l': case ']': case 'o': case 's': case 't': case ')': case 'u':
    case 0x81: case 0x85: case 0x86: case 0x87: case 0x88: case 0x89: case 0x8f: case 0x90: case 0x91:
    case 0x92: case 0x93: case 0x94: case 0x97: case 0x98:
      return {Arg::none, 0, true};
    case 'K': case 'h': case 'q': case 0x80: case 0x82: return {Arg::fixed, 1, true};
    case 'M': case 0x83: return {Arg::fixed, 2, true};
    case 'J': case 'j': case 'r': case 0x84: return {Arg::fixed, 4, true};
    case 'G': return {Arg::fixed, 8, true};
    case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g': case 'p': return {Arg::line, 0, true};
    case 'c': case 'i': return {Arg::two_lines, 0, true};
    case 'U': case 'C': case 0x8c: case 0x8a: return {Arg::length_u8, 0, true};
    case 'X': case 'B': return {Arg::length_u32, 0, true};
    case 'T': case 0x8b: return {Arg::length_i32, 0, true};
    case 0x8d: case 0x8e: case 0x96: return {Arg::length_u64, 0, true};
    case 0x95: return {Arg::frame, 0, true};
    default: return {};
  }
}

std::uint64_t read_le(const std::uint8_t* p, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = width; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void check_pickle_lengths(const std::uint8_t* data, std::size_t size, const std::filesystem::path& file) {
  const auto fail = [&](std::size_t at, const std::string& problem) {
    throw CheckpointError(file, "data.pkl: at byte " + std::to_string(at) + ", " + problem);
  };
  // LibTorch sizes its memo table by the largest index a PUT names, so an index far beyond the entries
  // stored so far (a pickler numbers them 0, 1, 2, ...) would make it allocate gigabytes: refused.
  std::uint64_t memo_entries = 0;
  const auto put = [&](std::size_t at, std::uint64_t id) {
    if (id > memo_entries)
      throw CheckpointError(file, "data.pkl: at byte " + std::to_string(at) + ", a memo index " + std::to_string(id) +
                                      " skips ahead of the " + std::to_string(memo_entries) + " entries stored so far");
    if (id == memo_entries) ++memo_entries;
  };
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t at = pos;
    const std::uint8_t op = data[pos++];
    if (op == '.') return;  // STOP: what follows is not read
    if (op == 0x94) put(at, memo_entries);  // MEMOIZE: the next index
    const OpcodeShape s = shape_of(op);
    if (!s.known) fail(at, "unknown pickle opcode 0x" + std::string(1, "0123456789abcdef"[op >> 4]) + "0123456789abcdef"[op & 15]);
    const auto need = [&](std::uint64_t n, const char* what) {
      const std::size_t left = size - pos;
      if (n > left) fail(at, std::string(what) + " claims " + std::to_string(n) + " bytes but " + std::to_string(left) +
                                 " remain in the pickle");
      pos += static_cast<std::size_t>(n);
    };
    switch (s.arg) {
      case Arg::none: break;
      case Arg::fixed:
        need(s.width, "an argument");
        if (op == 'q' || op == 'r') put(at, read_le(data + pos - s.width, s.width));  // BINPUT, LONG_BINPUT
        break;
      case Arg::line:
      case Arg::two_lines: {
        const std::size_t first = pos;
        for (int lines = s.arg == Arg::line ? 1 : 2; lines > 0; --lines) {
          while (pos < size && data[pos] != '\n') ++pos;
          if (pos == size) fail(at, "a text argument has no end of line");
          ++pos;
        }
        if (op == 'p') {  // PUT with a decimal index
          std::uint64_t id = 0;
          for (std::size_t i = first; i + 1 < pos; ++i) {
            if (data[i] < '0' || data[i] > '9' || id > (1ull << 40)) fail(at, "a memo index is not a small decimal");
            id = id * 10 + (data[i] - '0');
          }
          put(at, id);
        }
        break;
      }
      case Arg::length_u8: need(1, "a length"); need(data[pos - 1], "a string"); break;
      case Arg::length_u32: need(4, "a length"); need(read_le(data + pos - 4, 4), "a string"); break;
      case Arg::length_i32: {
        need(4, "a length");
        const auto n = static_cast<std::int32_t>(read_le(data + pos - 4, 4));
        if (n < 0) fail(at, "a string claims a negative length " + std::to_string(n));
        need(static_cast<std::uint64_t>(n), "a string");
        break;
      }
      case Arg::length_u64: need(8, "a length"); need(read_le(data + pos - 8, 8), "a string"); break;
      case Arg::frame: {
        need(8, "a length");
        const std::uint64_t frame = read_le(data + pos - 8, 8);
        if (frame > size - pos) fail(at, "a frame claims " + std::to_string(frame) + " bytes but " +
                                             std::to_string(size - pos) + " remain in the pickle");
        break;  // a frame's opcodes follow and are walked like any others
      }
    }
  }
  fail(size, "the pickle ends without its STOP opcode");
}

}  // namespace smoothcheck::checkpoint
