// Little-endian byte strings for hand-built checkpoint files (safetensors' u64 header length, llama2.c's
// int32 header): shared by the checkpoint cases and the fuzzers' seed-corpus generator.
#pragma once

#include <cstdint>
#include <string>

namespace smoothcheck::testing {

inline std::string u64_le(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

inline std::string i32_le(std::int32_t v) {
  std::string s(4, '\0');
  const auto u = static_cast<std::uint32_t>(v);
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(u >> (8 * i));
  return s;
}

}  // namespace smoothcheck::testing
