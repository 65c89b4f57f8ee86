// The activation absmax profile a report draws: for every distinct linear input of the first and the
// last layer (a stacked parameter's members share one: LLaMA's q/k/v and gate/up), the calibrated
// per-channel absmax before smoothing and the absmax the quantiser then sees, absmax_j / s_j (the
// export's migration scale; in fused mode s is folded into the norm, which divides the same way).
// SmoothQuant's point is visible here: a few outlier channels dominate before, and after smoothing
// the profile is flat. Two layers keep the document small for a 7B model (4 inputs x 2 layers).
//
// An outlier channel is one whose absmax is at least 4x the median channel's. LLM.int8() names
// outliers by an absolute magnitude (6), which depends on the model's scale; a ratio to the median
// does not. 4x marks stories260K's largest channels (its down_proj input peaks at 4.8x the median,
// measured), and LLaMA's systematic outliers lie far beyond it; it only marks, it decides nothing.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smoothcheck::report {

inline constexpr double kOutlierOverMedian = 4.0;

// [{"input": linear name, "layer": L, "absmax_before": [...], "absmax_after": [...], "outliers": [...],
//   "max_over_median": {"before": r, "after": r}}]. Throws CheckpointError (naming file and tensor)
// for statistics that do not fit the model or an export without migration scales. `recovered_s`: the s
// verify recovered from a third-party checkpoint (which stores none), used instead of stored scales.
nlohmann::json activation_profile(const std::filesystem::path& stats_file, const std::filesystem::path& original,
                                  const std::filesystem::path& quantized,
                                  const std::map<std::string, std::vector<float>>* recovered_s = nullptr);

}  // namespace smoothcheck::report
