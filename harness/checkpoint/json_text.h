// JSON parsing for checkpoint metadata (safetensors headers, shard indexes, config.json) with the
// limits an untrusted file needs: a nesting depth cap (a header is at most three levels deep; a
// deeply nested one is an attack or corruption, not a checkpoint) and refusal of duplicate keys,
// which nlohmann::json would otherwise resolve silently to the last value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace smoothcheck::checkpoint {

// Parses text[0, size). `what` names the document in messages ("safetensors header", "config.json").
// Throws CheckpointError(file, ...) for malformed JSON, nesting deeper than max_depth containers,
// or a key repeated within one object (the message names the key).
nlohmann::json parse_json_limited(const char* text, std::size_t size, const std::filesystem::path& file,
                                  const std::string& what, int max_depth);

// The bounds for a model's config.json, chosen from real configs (issue 14): LLaMA's rope_scaling and
// an export's quantization_config sit two levels down; compressed-tensors' W8A8 quantization_config
// nests config_groups.<group>.weights (an object at depth 4, its fields at 5), and its transform_config
// (config_groups.<name>.apply[].targets[]) reaches depth 7. Ten levels let every such config through;
// a nesting bomb is still refused in the parser's callback, before anything grows with it.
inline constexpr int kMaxConfigJsonDepth = 10;
inline constexpr std::uint64_t kMaxConfigJsonBytes = 16ull << 20;

// Reads a whole JSON file of at most max_bytes and parses it as above.
nlohmann::json read_json_file(const std::filesystem::path& file, const std::string& what, int max_depth,
                              std::uint64_t max_bytes = 64ull << 20);

// A config's size field (however it was read: config.json, a llama2.c header) must be positive;
// CheckpointError(origin, "<name> is <v>, not positive") otherwise.
void require_positive(const std::filesystem::path& origin, const char* name, std::int64_t v);

// A model's config.json (or another file of that kind) under the two bounds above.
nlohmann::json read_config_json(const std::filesystem::path& file);

// JSON value kind for messages: "a string", "an array", ...
std::string json_kind(const nlohmann::json& j);

// Typed fields of a config.json object. An absent or null field gives nullopt; a present field of the
// wrong type (or an integer beyond int64) is a CheckpointError naming the file, the key and its value.
std::optional<std::int64_t> config_int(const nlohmann::json& j, const char* key, const std::filesystem::path& file);
std::optional<double> config_number(const nlohmann::json& j, const char* key, const std::filesystem::path& file);
std::optional<bool> config_bool(const nlohmann::json& j, const char* key, const std::filesystem::path& file);
std::optional<std::string> config_string(const nlohmann::json& j, const char* key,
                                         const std::filesystem::path& file);
// As config_int, and absent is an error too.
std::int64_t required_config_int(const nlohmann::json& j, const char* key, const std::filesystem::path& file);

}  // namespace smoothcheck::checkpoint
