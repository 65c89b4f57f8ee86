// `smoothcheck verify --json FILE`: the verify report as a results/2 document (results_document.h),
// with this build's run_info and, given the calibration statistics the export was made from, the
// activation absmax profile before and after smoothing (activation_profile.h).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smoothcheck::report {

// The label a checkpoint's metric keys carry: its last two path components ("stories260K/hf"), since
// a layout folder alone ("hf") does not say which model it holds.
std::string model_label(const std::filesystem::path& original);

// stats: empty for no profile. Written atomically.
// recovered_s: a third-party checkpoint's recovered s (VerifyReport::recovered_s) for the activation
// profile; nullptr or empty for smoothcheck's own exports, which store theirs.
void write_verify_results(const std::filesystem::path& file, const nlohmann::json& verify_report,
                          const std::filesystem::path& original, const std::filesystem::path& quantized,
                          const std::filesystem::path& stats,
                          const std::map<std::string, std::vector<float>>* recovered_s = nullptr);

}  // namespace smoothcheck::report
