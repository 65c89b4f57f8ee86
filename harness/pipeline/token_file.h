// A calibration set given as token ids (`calibrate --tokens FILE`), so that smoothcheck's statistics can
// be computed on exactly the sequences another tool calibrated on (issue 14: fitting the recipe and α
// of a third-party checkpoint needs its own calibration data; scripts/third_party_checkpoints writes
// calibration_tokens.json). JSON: {"sequences": [[id, ...], ...]} or a bare list of sequences, every
// sequence the same length.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace smoothcheck::pipeline {

// Throws CheckpointError(file, problem) for a file that is not such JSON, an empty set, sequences of
// different lengths, a length beyond max_len, or an id outside [0, vocab_size), naming the sequence and
// position.
std::vector<std::vector<int64_t>> read_token_file(const std::filesystem::path& file, int64_t vocab_size, int64_t max_len);

}  // namespace smoothcheck::pipeline
