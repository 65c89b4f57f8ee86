#include "harness/checkpoint/shard_index.h"

#include <cstdio>
#include <set>

#include "harness/checkpoint/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::checkpoint {

namespace {
constexpr int kMaxIndexDepth = 4;  // {metadata: {total_size}, weight_map: {name: file}} is two levels
}  // namespace

std::vector<std::string> ShardIndex::shard_files() const {
  std::set<std::string> s;
  for (const auto& [_, f] : weight_map) s.insert(f);
  return {s.begin(), s.end()};
}

void check_shard_name(const std::filesystem::path& index_file, const std::string& tensor, const std::string& shard) {
  const auto refuse = [&](const std::string& why) {
    throw CheckpointError(index_file, tensor, "shard '" + shard + "' " + why);
  };
  if (shard.empty()) refuse("is an empty file name");
  if (shard.front() == '/') refuse("is an absolute path; shards must be file names inside the model directory");
  if (shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos) {
    if (shard.find("..") != std::string::npos)
      refuse("contains '..'; shards must be file names inside the model directory");
    refuse("contains a directory separator; shards must be file names inside the model directory");
  }
  if (shard == "." || shard == "..") refuse("contains '..'; shards must be file names inside the model directory");
  if (shard.find('\0') != std::string::npos) refuse("contains a NUL byte");
}

ShardIndex read_shard_index(const std::filesystem::path& index_file) {
  using json = nlohmann::json;
  const json j = read_json_file(index_file, "shard index", kMaxIndexDepth);
  if (!j.is_object()) throw CheckpointError(index_file, "shard index is " + json_kind(j) + ", not an object");
  ShardIndex index;

  if (j.contains("metadata")) {
    const json& m = j["metadata"];
    if (!m.is_object()) throw CheckpointError(index_file, "metadata is " + json_kind(m) + ", not an object");
    for (const auto& [k, v] : m.items()) {
      if (k == "total_size") {
        // Some writers store a float (e.g. 520064.0); accept it when it is a whole number.
        if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
          index.total_size = v.get<std::uint64_t>();
        } else if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 1.8e19 &&
                   static_cast<double>(static_cast<std::uint64_t>(v.get<double>())) == v.get<double>()) {
          index.total_size = static_cast<std::uint64_t>(v.get<double>());
        } else {
          throw CheckpointError(index_file, "metadata.total_size is " + v.dump() + ", not a byte count");
        }
      } else {
        index.other_metadata[k] = v.dump();
      }
    }
  }

  if (!j.contains("weight_map")) throw CheckpointError(index_file, "shard index lacks 'weight_map'");
  const json& wm = j["weight_map"];
  if (!wm.is_object()) throw CheckpointError(index_file, "weight_map is " + json_kind(wm) + ", not an object");
  if (wm.empty()) throw CheckpointError(index_file, "weight_map is empty");
  const auto dir = index_file.parent_path();
  for (const auto& [name, v] : wm.items()) {
    if (!v.is_string())
      throw CheckpointError(index_file, name, "weight_map value is " + json_kind(v) + ", not a shard file name");
    const std::string shard = v.get<std::string>();
    check_shard_name(index_file, name, shard);
    index.weight_map[name] = shard;
  }
  for (const auto& shard : index.shard_files()) {
    std::error_code ec;
    // is_regular_file follows symlinks: a link to a blob is fine, a dangling link is not.
    if (!std::filesystem::is_regular_file(dir / shard, ec))
      throw CheckpointError(index_file, "shard '" + shard + "' named in weight_map is not a file in " + dir.string());
  }
  return index;
}

void write_shard_index(const std::filesystem::path& index_file, const ShardIndex& index) {
  nlohmann::json j;
  j["metadata"] = nlohmann::json::object();
  for (const auto& [k, v] : index.other_metadata) j["metadata"][k] = nlohmann::json::parse(v);
  if (index.total_size) j["metadata"]["total_size"] = *index.total_size;
  j["weight_map"] = nlohmann::json::object();
  for (const auto& [name, shard] : index.weight_map) {
    check_shard_name(index_file, name, shard);
    j["weight_map"][name] = shard;
  }
  const std::string text = j.dump(2) + "\n";
  AtomicFileWriter out(index_file);
  out.write(text.data(), text.size());
  out.commit();
}

std::string shard_file_name(const std::string& stem, const std::string& extension, std::size_t k, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%05zu-of-%05zu", k, n);
  return stem + buf + extension;
}

std::vector<std::vector<std::size_t>> plan_shards(const std::vector<std::uint64_t>& tensor_bytes,
                                                  std::uint64_t max_shard_bytes) {
  std::vector<std::vector<std::size_t>> shards;
  std::uint64_t current = 0;
  for (std::size_t i = 0; i < tensor_bytes.size(); ++i) {
    if (shards.empty() || (!shards.back().empty() && current + tensor_bytes[i] > max_shard_bytes)) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(i);
    current += tensor_bytes[i];
  }
  return shards;
}

}  // namespace smoothcheck::checkpoint
