#include "harness/checkpoint/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::checkpoint {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

using json = nlohmann::json;

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A JSON integer that is >= 0, as u64; floats ("2.0") and negatives are refused, as upstream does.
bool as_unsigned(const json& j, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

// One header entry, validated, before it is filed as a computable or an opaque entry.
struct ParsedEntry {
  std::string name;
  std::string dtype_name;
  std::optional<DType> dtype;  // nullopt: one of the format's other dtypes (opaque_tensor.h)
  std::vector<std::int64_t> shape;
  std::uint64_t nbytes = 0;
  std::uint64_t begin = 0, end = 0;
};

ParsedEntry parse_entry(const std::filesystem::path& file, const std::string& name, const json& v,
                        std::uint64_t data_size) {
  if (!v.is_object()) throw CheckpointError(file, name, "header entry is " + json_kind(v) + ", not an object");
  for (const auto& [key, _] : v.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw CheckpointError(file, name, "unexpected field '" + key + "' in header entry");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) throw CheckpointError(file, name, std::string("header entry lacks '") + key + "'");

  ParsedEntry e;
  e.name = name;

  const json& dt = v["dtype"];
  if (!dt.is_string()) throw CheckpointError(file, name, "dtype is " + json_kind(dt) + ", not a string");
  e.dtype_name = dt.get<std::string>();
  e.dtype = dtype_from_safetensors(e.dtype_name);
  std::uint64_t bits = 0;
  if (e.dtype) {
    bits = 8 * dtype_size(*e.dtype);
  } else if (auto other = other_safetensors_dtype_bits(e.dtype_name)) {
    bits = static_cast<std::uint64_t>(*other);
  } else {
    throw CheckpointError(file, name, "unknown dtype '" + e.dtype_name + "'");
  }

  const json& shape = v["shape"];
  if (!shape.is_array()) throw CheckpointError(file, name, "shape is " + json_kind(shape) + ", not an array");
  // The size is accumulated in bits, in u64, with an explicit overflow check at every dimension: a
  // shape like [2^32, 2^32, 16] must fail here, not wrap to a small byte count that happens to match
  // the offsets.
  std::uint64_t total_bits = bits;
  for (const json& d : shape) {
    std::uint64_t dim = 0;
    if (!as_unsigned(d, dim))
      throw CheckpointError(file, name, "shape " + shape.dump() + " holds " + d.dump() + ", not a non-negative integer");
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_mul_overflow(total_bits, dim, &total_bits))
      throw CheckpointError(file, name, "shape " + shape.dump() + " overflows 64 bits when multiplied out");
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }
  // Sub-byte dtypes (F6, F4) pack elements; a tensor that ends inside a byte has no defined layout.
  if (total_bits % 8 != 0)
    throw CheckpointError(file, name, e.dtype_name + " shape " + shape.dump() + " does not fill whole bytes");
  e.nbytes = total_bits / 8;

  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !as_unsigned(off[0], e.begin) || !as_unsigned(off[1], e.end))
    throw CheckpointError(file, name, "data_offsets " + off.dump() + " is not two non-negative integers [begin, end]");
  if (e.end < e.begin)
    throw CheckpointError(file, name, "data_offsets " + off.dump() + " ends before it begins");
  if (e.end - e.begin != e.nbytes)
    throw CheckpointError(file, name, "data_offsets " + off.dump() + " hold " + std::to_string(e.end - e.begin) +
                                          " bytes, but " + e.dtype_name + " shape " + shape.dump() + " needs " +
                                          std::to_string(e.nbytes));
  if (e.end > data_size)
    throw CheckpointError(file, name, "data_offsets " + off.dump() + " lie outside the data section of " +
                                          std::to_string(data_size) + " bytes");
  return e;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::uint64_t size = file_.size();
  if (size < 8)
    throw CheckpointError(path, "truncated header: the file has " + std::to_string(size) +
                                    " bytes, fewer than the 8-byte header length");
  const std::uint64_t n = read_u64_le(file_.data());
  if (n > size - 8)
    throw CheckpointError(path, "header length " + std::to_string(n) + " exceeds the " + std::to_string(size - 8) +
                                    " bytes that follow it in the file");
  if (n > kMaxSafetensorsHeaderBytes)
    throw CheckpointError(path, "header length " + std::to_string(n) + " exceeds the limit of " +
                                    std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  if (n < 2) throw CheckpointError(path, "header length " + std::to_string(n) + " is too small to hold a JSON object");
  data_start_ = 8 + n;
  const std::uint64_t data_size = size - data_start_;

  const json header = parse_json_limited(reinterpret_cast<const char*>(file_.data() + 8), n, path,
                                         "safetensors header", kMaxSafetensorsHeaderDepth);
  if (!header.is_object())
    throw CheckpointError(path, "safetensors header is " + json_kind(header) + ", not an object");

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        throw CheckpointError(path, "__metadata__ is " + json_kind(value) + ", not an object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw CheckpointError(path, "__metadata__ value for '" + mk + "' is " + json_kind(mv) + ", not a string");
        metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    if (key.empty()) throw CheckpointError(path, "header has a tensor with an empty name");
    ParsedEntry p = parse_entry(path, key, value, data_size);
    if (p.dtype)
      entries_.push_back({p.name, TensorInfo{*p.dtype, p.shape, p.nbytes}, p.begin, p.end});
    else
      opaque_.push_back({p.name, p.dtype_name, p.shape, p.begin, p.end});
  }

  // Overlap check on the ranges sorted by start; empty tensors (begin == end) overlap nothing.
  // Gaps between ranges are tolerated (upstream refuses them; they are harmless to a reader).
  struct Range {
    const std::string* name;
    std::uint64_t begin, end;
  };
  std::vector<Range> by_offset;
  for (const auto& e : entries_)
    if (e.end > e.begin) by_offset.push_back({&e.name, e.begin, e.end});
  for (const auto& e : opaque_)
    if (e.end > e.begin) by_offset.push_back({&e.name, e.begin, e.end});
  std::sort(by_offset.begin(), by_offset.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const Range& prev = by_offset[i - 1];
    const Range& cur = by_offset[i];
    if (cur.begin < prev.end)
      throw CheckpointError(path, *cur.name,
                            "data_offsets [" + std::to_string(cur.begin) + ", " + std::to_string(cur.end) +
                                "] overlap those of '" + *prev.name + "' [" + std::to_string(prev.begin) + ", " +
                                std::to_string(prev.end) + "]");
  }
  // nlohmann::json's object is a std::map, so entries_ and opaque_ are already sorted by name.
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return (it != entries_.end() && it->name == name) ? &*it : nullptr;
}

const SafetensorsOpaqueEntry* SafetensorsFile::find_opaque(const std::string& name) const {
  auto it = std::lower_bound(opaque_.begin(), opaque_.end(), name,
                             [](const SafetensorsOpaqueEntry& e, const std::string& n) { return e.name < n; });
  return (it != opaque_.end() && it->name == name) ? &*it : nullptr;
}

OpaqueTensor SafetensorsFile::opaque_tensor(const SafetensorsOpaqueEntry& e) const {
  const std::uint8_t* p = file_.data() + data_start_ + e.begin;
  return OpaqueTensor{e.name, e.dtype, e.shape, std::vector<std::uint8_t>(p, p + (e.end - e.begin))};
}

void SafetensorsFile::copy_to(const std::string& name, void* dst) const {
  const SafetensorsEntry* e = find(name);
  if (e == nullptr) throw CheckpointError(path(), name, "no such tensor in this file");
  // In 8 MiB pieces, each piece's file pages released as soon as it is copied: a whole tensor's pages
  // (the 131 MB embedding of a 1.1B model) never sit in memory beside the whole copy. The final call
  // takes the pages the inward rounding of the pieces left at their edges.
  constexpr std::uint64_t kPiece = std::uint64_t(8) << 20;
  const std::uint8_t* from = bytes(*e);
  for (std::uint64_t at = 0; at < e->info.nbytes; at += kPiece) {
    const std::uint64_t n = std::min(kPiece, e->info.nbytes - at);
    std::memcpy(static_cast<std::uint8_t*>(dst) + at, from + at, n);
    file_.release_pages(data_start_ + e->begin + at, n);
  }
  file_.release_pages(data_start_ + e->begin, e->info.nbytes);  // the caller owns the copy now
}

}  // namespace smoothcheck::checkpoint
