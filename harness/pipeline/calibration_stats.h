// The calibration statistics file (numerics.md §1): safetensors with one float32 [in_features] vector
// per linear and statistic, named "<linear>.absmax", ".min", ".max", ".mean", ".absmean": 7 linears per
// LLaMA layer as lmdeploy stores them (q/k/v, and gate/up, share an input and hold equal copies), 6 per
// BERT layer (query/key/value likewise).
//
// Reading validates the file against the model it is to be used with, so that statistics of another
// model, a truncated file or a hand-edited NaN fail with the file and tensor named rather than
// producing a silently wrong smoothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/llama_config.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

struct LinearStats {
  std::vector<float> absmax, min, max, mean, absmean;
};

struct CalibrationStats {
  std::map<std::string, LinearStats> linears;  // by linear name
  std::map<std::string, std::string> metadata;  // samples, seq_len, seed, model, ...
};

inline constexpr const char* kStatsFormat = "smoothcheck.calibration/1";
const std::vector<std::string>& stat_names();  // absmax, min, max, mean, absmean

// Writes atomically (atomic_file.h); metadata gets "format" = kStatsFormat.
void write_calibration_stats(const std::filesystem::path& file, const CalibrationStats& stats);

// Reads and validates against a model's quantised linears (their names and in_features): every linear
// present with all five statistics, float32, shape [in_features], finite, absmax >= 0 and min <= max.
// Throws CheckpointError(file, tensor, problem).
CalibrationStats read_calibration_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears);

}  // namespace smoothcheck::pipeline
