// The calibration statistics file (numerics.md §1): safetensors with one float32 [in_features] vector
// per linear and statistic, named "<linear>.absmax", ".min", ".max", ".mean", ".absmean": 7 linears per
// LLaMA layer as lmdeploy stores them (q/k/v, and gate/up, share an input and hold equal copies), 6 per
// BERT layer (query/key/value likewise).
//
// Reading validates the file against the model it is to be used with, so that statistics of another
// model, a truncated file or a hand-edited NaN fail with the file and tensor named rather than
// producing a silently wrong smoothing.
//
// lmdeploy's own statistics file, inputs_stats.pth (lmdeploy_inputs_stats.h), is read as well: the
// reader tells the two apart by their first bytes (a zip archive, or a safetensors header), never by the
// file's name, and both pass the same checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/llama_config.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

struct LinearStats {
  // absmax, min and max are always there: the smoothing recipes read absmax (lmdeploy's, the authors')
  // or max - min (llm-compressor's). mean and absmean, which no smoothing step reads, are empty when an
  // lmdeploy file holds no such statistic at all; smoothcheck's own files always have all five.
  std::vector<float> absmax, min, max, mean, absmean;
};

struct CalibrationStats {
  std::map<std::string, LinearStats> linears;  // by linear name
  std::map<std::string, std::string> metadata;  // samples, seq_len, seed, model, ...
};

inline constexpr const char* kStatsFormat = "smoothcheck.calibration/1";
const std::vector<std::string>& stat_names();  // absmax, min, max, mean, absmean
const std::vector<float>& statistic(const LinearStats& s, const std::string& stat);  // by its name
std::vector<float>& statistic(LinearStats& s, const std::string& stat);

// The file formats `calibrate` writes and every --stats reads.
enum class StatsFormat {
  smoothcheck,  // safetensors, "<linear>.<statistic>" float32 (the default)
  lmdeploy,     // lmdeploy's inputs_stats.pth (lmdeploy_inputs_stats.h)
};
StatsFormat parse_stats_format(const std::string& s);  // "smoothcheck" | "lmdeploy"; std::invalid_argument otherwise

// Writes atomically (atomic_file.h); metadata gets "format" = kStatsFormat. Every linear must hold all
// five statistics of one length (std::invalid_argument naming it otherwise).
void write_calibration_stats(const std::filesystem::path& file, const CalibrationStats& stats);

// Reads and validates against a model's quantised linears (their names and in_features): every linear
// present with all five statistics, float32, shape [in_features], finite, absmax >= 0 and min <= max.
// A file that opens as a zip archive is read as lmdeploy's inputs_stats.pth instead
// (read_lmdeploy_inputs_stats), with the same checks. Throws CheckpointError(file, tensor, problem).
CalibrationStats read_calibration_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears);

// The value checks both readers make, `tensor` being the statistic's name in the file. One statistic
// of one linear: every channel finite, absmax and absmean not negative.
void check_statistic_values(const std::filesystem::path& file, const std::string& tensor, const std::string& stat,
                            const std::vector<float>& values);
// Across one linear's statistics: min <= max and absmax >= max(|min|, |max|) in every channel;
// tensor_of(stat) names the statistic in the file.
void check_statistics_agree(const std::filesystem::path& file, const LinearStats& s,
                            const std::function<std::string(const std::string& stat)>& tensor_of);

}  // namespace smoothcheck::pipeline
