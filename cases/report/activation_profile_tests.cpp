// The activation profile verify --stats adds (activation_profile.h), on stories260K through the
// command line as CI runs it: "after" is the calibrated absmax divided by the migration scale the
// export actually stores (read back here through the checkpoint reader), and smoothquant at alpha
// 0.85 flattens every profile (max/median after < before) — a profile that ignored s would not.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "harness/checkpoint/model_dir.h"
#include "report_test_support.h"

namespace smoothcheck::testing {
namespace {

TEST(ActivationProfile, AfterIsBeforeDividedByTheExportedScaleAndFlatter) {
  const std::filesystem::path model = std::filesystem::path(SMOOTHCHECK_SHARED_DIR) / "checkpoints/stories260K/hf";
  if (!std::filesystem::exists(model)) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << model << " is missing, and CI=true requires it";
    GTEST_SKIP() << model << " is missing (the shared checkpoints are not here)";
  }
  const auto dir = fresh_test_dir();
  const std::string s = smoothcheck_exe(), m = shell_quote(model.string()), stats = shell_quote((dir / "stats.safetensors").string()),
                    quantized = shell_quote((dir / "q").string()), json = shell_quote((dir / "verify.json").string());
  ASSERT_EQ(run_command(s + " calibrate " + m + " --out " + stats + " --samples 2 --seq-len 32").exit_code, 0);
  ASSERT_EQ(run_command(s + " quantize " + m + " --stats " + stats + " --recipe smoothquant --alpha 0.85 --mode migration --out " +
                        quantized).exit_code, 0);
  const CommandResult verify = run_command(s + " verify " + m + " " + quantized + " --tokens 32 --stats " + stats + " --json " + json);
  ASSERT_EQ(verify.exit_code, 0) << verify.output;

  const nlohmann::json doc = nlohmann::json::parse(read_text(dir / "verify.json"));
  ASSERT_EQ(doc["schema"], "smoothcheck.results/2");
  const nlohmann::json& profile = doc["detail"]["activation_profile"];
  ASSERT_EQ(profile.size(), 8u) << "4 distinct inputs x (first, last layer)";
  const auto exported = checkpoint::open_model_dir(dir / "q");
  for (const nlohmann::json& p : profile) {
    const std::string input = p["input"];
    const at::Tensor scale = exported.checkpoint->tensor(input + ".migration_scale").to(at::kDouble);
    const auto before = p["absmax_before"].get<std::vector<double>>(), after = p["absmax_after"].get<std::vector<double>>();
    ASSERT_EQ(int64_t(before.size()), scale.numel()) << input;
    for (std::size_t j = 0; j < before.size(); ++j)
      ASSERT_DOUBLE_EQ(after[j], before[j] / scale[int64_t(j)].item<double>()) << input << " channel " << j;
    EXPECT_LT(p["max_over_median"]["after"].get<double>(), p["max_over_median"]["before"].get<double>()) << input;
    EXPECT_TRUE(doc["metrics"].contains("verify/stories260K/hf/" + input + "/absmax_max_over_median/after"));
  }
}

}  // namespace
}  // namespace smoothcheck::testing
