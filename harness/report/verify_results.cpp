#include "harness/report/verify_results.h"

#include "harness/report/activation_profile.h"
#include "harness/report/results_builders.h"
#include "harness/run_info.h"

namespace smoothcheck::report {

std::string model_label(const std::filesystem::path& original) {
  std::filesystem::path p = original.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
  const std::string leaf = p.filename().string();
  const std::string parent = p.parent_path().filename().string();
  return parent.empty() || parent == "." ? leaf : parent + "/" + leaf;
}

void write_verify_results(const std::filesystem::path& file, const nlohmann::json& verify_report,
                          const std::filesystem::path& original, const std::filesystem::path& quantized,
                          const std::filesystem::path& stats,
                          const std::map<std::string, std::vector<float>>* recovered_s) {
  const nlohmann::json profile = stats.empty() ? nlohmann::json::array()
                                               : activation_profile(stats, original, quantized,
                                                                    recovered_s && !recovered_s->empty() ? recovered_s : nullptr);
  ResultsDocument doc = results_from_verify(verify_report, model_label(original), profile, run_info());
  doc.detail["original"] = original.string();
  doc.detail["quantized"] = quantized.string();
  if (!stats.empty()) doc.detail["stats"] = stats.string();
  write_results_file(file, doc);
}

}  // namespace smoothcheck::report
