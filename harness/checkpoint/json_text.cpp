#include "harness/checkpoint/json_text.h"

#include <fstream>
#include <iterator>
#include <set>
#include <system_error>
#include <vector>

#include "harness/checkpoint/checkpoint_error.h"

namespace smoothcheck::checkpoint {

namespace {

// Thrown from inside the parser callback; converted to a CheckpointError by the caller so that the
// callback itself does not need to know the file.
struct JsonLimitExceeded {
  std::string problem;
};

}  // namespace

nlohmann::json parse_json_limited(const char* text, std::size_t size, const std::filesystem::path& file,
                                  const std::string& what, int max_depth) {
  using json = nlohmann::json;
  // keys_at[d] holds the keys already seen in the object currently open at depth d - 1; the
  // callback reports a key with the depth of the object containing it plus one.
  std::vector<std::set<std::string>> keys_at(static_cast<std::size_t>(max_depth) + 2);
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      if (depth >= max_depth)
        throw JsonLimitExceeded{what + " nests deeper than " + std::to_string(max_depth) + " levels"};
      if (event == json::parse_event_t::object_start) keys_at[static_cast<std::size_t>(depth) + 1].clear();
    } else if (event == json::parse_event_t::key) {
      auto& seen = keys_at[static_cast<std::size_t>(depth)];
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) throw JsonLimitExceeded{what + " repeats the key '" + key + "'"};
    }
    return true;
  };
  try {
    return json::parse(text, text + size, callback, /*allow_exceptions=*/true);
  } catch (const JsonLimitExceeded& e) {
    throw CheckpointError(file, e.problem);
  } catch (const json::exception& e) {
    throw CheckpointError(file, what + " is not valid JSON: " + e.what());
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file, const std::string& what, int max_depth,
                              std::uint64_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) throw CheckpointError(file, "cannot read " + what + ": " + ec.message());
  if (size > max_bytes)
    throw CheckpointError(file, what + " is " + std::to_string(size) + " bytes, more than the limit of " +
                                    std::to_string(max_bytes));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CheckpointError(file, "cannot open " + what);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_json_limited(text.data(), text.size(), file, what, max_depth);
}

void require_positive(const std::filesystem::path& origin, const char* name, std::int64_t v) {
  if (v <= 0) throw CheckpointError(origin, std::string(name) + " is " + std::to_string(v) + ", not positive");
}

nlohmann::json read_config_json(const std::filesystem::path& file) {
  return read_json_file(file, "config.json", kMaxConfigJsonDepth, kMaxConfigJsonBytes);
}

std::string json_kind(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a non-integer number";
    default: return "an unexpected value";
  }
}

using json = nlohmann::json;

std::optional<std::int64_t> config_int(const json& j, const char* key, const std::filesystem::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_number_integer() || v.is_number_unsigned()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      throw CheckpointError(file, std::string(key) + " " + v.dump() + " is out of range");
    return v.get<std::int64_t>();
  }
  throw CheckpointError(file, std::string(key) + " is " + json_kind(v) + " (" + v.dump() + "), not an integer");
}

std::optional<double> config_number(const json& j, const char* key, const std::filesystem::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (!v.is_number()) throw CheckpointError(file, std::string(key) + " is " + json_kind(v) + ", not a number");
  return v.get<double>();
}

std::optional<bool> config_bool(const json& j, const char* key, const std::filesystem::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (!v.is_boolean()) throw CheckpointError(file, std::string(key) + " is " + json_kind(v) + ", not true or false");
  return v.get<bool>();
}

std::optional<std::string> config_string(const json& j, const char* key, const std::filesystem::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (!v.is_string()) throw CheckpointError(file, std::string(key) + " is " + json_kind(v) + ", not a string");
  return v.get<std::string>();
}

std::int64_t required_config_int(const json& j, const char* key, const std::filesystem::path& file) {
  auto v = config_int(j, key, file);
  if (!v) throw CheckpointError(file, std::string("config lacks the required field ") + key);
  return *v;
}

}  // namespace smoothcheck::checkpoint
