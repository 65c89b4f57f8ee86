// libFuzzer target: the safetensors header and its data ranges (harness/checkpoint/safetensors_reader.h).
// An accepted file must keep every promise the reader makes before any tensor byte is read: each
// range inside the data section, sized by product(shape) x dtype size, ranges disjoint, names unique
// and sorted; and copy_to must hand back exactly the bytes of that range.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "harness/checkpoint/safetensors_reader.h"

namespace {

using smoothcheck::checkpoint::SafetensorsEntry;
using smoothcheck::checkpoint::SafetensorsFile;
using smoothcheck::fuzz::fuzz_require;

std::uint64_t header_length(const std::uint8_t* data) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  return n;
}

void check_entry(const SafetensorsEntry& e, std::uint64_t data_size) {
  fuzz_require(e.begin <= e.end && e.end <= data_size, "entry '" + e.name + "' lies outside the data section");
  std::uint64_t bytes = smoothcheck::dtype_size(e.info.dtype);
  for (std::int64_t d : e.info.shape) {
    fuzz_require(d >= 0, "entry '" + e.name + "' has a negative dimension");
    fuzz_require(!__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(d), &bytes),
                 "entry '" + e.name + "' was accepted with a shape product that overflows");
  }
  fuzz_require(bytes == e.info.nbytes && e.end - e.begin == bytes, "entry '" + e.name + "' byte count disagrees");
}

}  // namespace

SMOOTHCHECK_FUZZ_TARGET(safetensors) {
  static smoothcheck::fuzz::MemoryFile input;
  const SafetensorsFile file(input.rewrite(data, size));
  // Accepted: the file is at least the 8-byte length plus the header it declares.
  fuzz_require(size >= 8 && header_length(data) <= size - 8, "accepted a header length beyond the file");
  const std::uint64_t data_start = 8 + header_length(data);
  const std::uint64_t data_size = size - data_start;

  const auto& entries = file.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const SafetensorsEntry& e = entries[i];
    check_entry(e, data_size);
    fuzz_require(i == 0 || entries[i - 1].name < e.name, "entries are not sorted by unique name");
    fuzz_require(file.find(e.name) == &e, "find('" + e.name + "') does not return its entry");
    std::vector<std::uint8_t> copy(e.info.nbytes);
    file.copy_to(e.name, copy.data());
    fuzz_require(e.info.nbytes == 0 || std::memcmp(copy.data(), data + data_start + e.begin, e.info.nbytes) == 0,
                 "copy_to('" + e.name + "') returned bytes other than its range");
  }
  std::vector<const SafetensorsEntry*> by_begin;
  for (const auto& e : entries)
    if (e.end > e.begin) by_begin.push_back(&e);
  std::sort(by_begin.begin(), by_begin.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_begin.size(); ++i)
    fuzz_require(by_begin[i]->begin >= by_begin[i - 1]->end,
                 "ranges of '" + by_begin[i - 1]->name + "' and '" + by_begin[i]->name + "' overlap");
}
