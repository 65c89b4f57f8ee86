#include "harness/pipeline/token_file.h"

#include <string>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"

namespace smoothcheck::pipeline {

using checkpoint::CheckpointError;

std::vector<std::vector<int64_t>> read_token_file(const std::filesystem::path& file, int64_t vocab_size, int64_t max_len) {
  // A list of lists of ints is three levels deep; the object form four.
  const nlohmann::json j = checkpoint::read_json_file(file, "token file", /*max_depth=*/4);
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    if (!j.contains("sequences")) throw CheckpointError(file, "has no \"sequences\"");
    list = &j["sequences"];
  }
  if (!list->is_array() || list->empty()) throw CheckpointError(file, "\"sequences\" is not a non-empty list");
  std::vector<std::vector<int64_t>> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& seq = (*list)[i];
    const std::string where = "sequence " + std::to_string(i);
    if (!seq.is_array() || seq.empty()) throw CheckpointError(file, where + " is not a non-empty list");
    if (static_cast<int64_t>(seq.size()) > max_len)
      throw CheckpointError(file, where + " has " + std::to_string(seq.size()) + " tokens, beyond the model's " +
                                      std::to_string(max_len) + " positions");
    if (!out.empty() && seq.size() != out.front().size())
      throw CheckpointError(file, where + " has " + std::to_string(seq.size()) + " tokens, sequence 0 has " +
                                      std::to_string(out.front().size()) + " (batches need one length)");
    std::vector<int64_t> ids;
    for (std::size_t p = 0; p < seq.size(); ++p) {
      if (!seq[p].is_number_integer())
        throw CheckpointError(file, where + " position " + std::to_string(p) + " is " + checkpoint::json_kind(seq[p]) +
                                        ", not a token id");
      const int64_t id = seq[p].get<int64_t>();
      if (id < 0 || id >= vocab_size)
        throw CheckpointError(file, where + " position " + std::to_string(p) + ": token id " + std::to_string(id) +
                                        " outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
      ids.push_back(id);
    }
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace smoothcheck::pipeline
