// The tampered-export corpus (issue 12): an honest stories260K export, then copies of it with one
// deliberate defect each, most of them self-consistent (the weights agree with the scales stored
// beside them, so a check that trusts the export cannot see them). verify, given the calibration
// statistics, must reject every one with a failure that names the check and the linear. And the
// forward thresholds must reject the two ways of running an export wrongly that the weight checks
// cannot see from the tensors alone: without its runtime division, and with unsmoothed weights.
#include <functional>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/verify.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;

// The honest export every tamper starts from: migration mode, lmdeploy's recipe and weights, α 0.5.
const fs::path& honest_export(const fs::path& shared) {
  static const fs::path dir = [&] {
    pipeline::QuantizeOptions q;
    q.model = stories_layout(shared, "hf");
    q.stats = small_stats(shared, "hf");
    q.out = process_scratch() / "honest-export";
    q.mode = SmoothMode::migration;
    q.recipe = Recipe::lmdeploy;
    q.alpha = 0.5f;
    q.weight_variant = WeightQuant::lmdeploy;
    pipeline::quantize_and_export(cpu_backend(), q);
    return q.out;
  }();
  return dir;
}

using Tensors = std::map<std::string, at::Tensor>;

at::Tensor original_weight(const fs::path& shared, const std::string& linear) {
  return checkpoint::open_model_dir(stories_layout(shared, "hf")).checkpoint->tensor(linear + ".weight").to(at::kFloat);
}

// Symmetric per-row int8 codes of w at `levels` (127: 8 bits, 63: 7 bits), scale absmax / divisor: what
// a quantiser with those numbers writes, consistent with its own scale.
std::pair<at::Tensor, at::Tensor> quantise_rows(const at::Tensor& w, double divisor, double levels) {
  const at::Tensor scale = w.abs().amax(1, /*keepdim=*/true).div(divisor);
  const at::Tensor q = w.div(scale).round().clamp(-levels - 1, levels).to(at::kChar);
  return {q, scale.to(at::kFloat)};
}

// Writes `tensors` as an export beside the honest one, its config.json edited by `edit`.
fs::path write_export(const fs::path& honest, const Tensors& tensors, const std::string& name,
                      const std::function<void(nlohmann::json&)>& edit = {}) {
  return write_edited_copy(honest, tensors, "tampered-" + name, edit);
}

pipeline::VerifyReport verify(const fs::path& shared, const fs::path& exported, bool with_stats, bool forward) {
  pipeline::VerifyOptions v;
  v.original = stories_layout(shared, "hf");
  v.quantized = exported;
  if (with_stats) v.stats = small_stats(shared, "hf");
  v.forward = forward;
  v.tokens = 64;
  v.seed = 3;
  return pipeline::verify_export(cpu_backend(), v);
}

std::string all_failures(const pipeline::VerifyReport& r) {
  std::string s;
  for (const std::string& f : r.failures) s += "  " + f + "\n";
  return s;
}

// A failure of `check` that names `linear`.
bool rejected_by(const pipeline::VerifyReport& r, const std::string& check, const std::string& linear) {
  for (const std::string& f : r.failures)
    if (f.rfind(check + ": ", 0) == 0 && f.find(linear) != std::string::npos) return true;
  return false;
}

struct Tamper {
  const char* name;
  const char* check;   // the check that must reject it
  const char* linear;  // the linear its failure must name
  // Edits the honest export's tensors (and config); `shared` reaches the original model.
  std::function<void(Tensors&, const fs::path& shared)> tensors;
  std::function<void(nlohmann::json&)> config;
};

const char* const kQ1 = "model.layers.1.self_attn.q_proj";
const char* const kDown2 = "model.layers.2.mlp.down_proj";
const char* const kUp3 = "model.layers.3.mlp.up_proj";
const char* const kO4 = "model.layers.4.self_attn.o_proj";

// Requantises a linear from its original weight times the export's s with another quantiser: the
// export stays consistent with the smoothed weight (numerics.md §8's per-element bound holds for the
// stored scale), so only the formula tells.
void requantise(Tensors& t, const fs::path& shared, const std::string& linear, double divisor, double levels) {
  auto [q, scale] = quantise_rows(original_weight(shared, linear) * t[linear + ".migration_scale"], divisor, levels);
  t[linear + ".weight"] = q;
  t[linear + ".scale"] = scale;
}

std::vector<Tamper> tampers() {
  return {
      {"seven_bits_everywhere", "weight_scale", kQ1,
       [](Tensors& t, const fs::path& shared) {
         for (auto& [name, tensor] : Tensors(t))
           if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 && tensor.scalar_type() == at::kChar)
             requantise(t, shared, name.substr(0, name.size() - 7), 63, 63);
       },
       {}},
      {"seven_bits_in_one_linear", "weight_scale", kDown2,
       [](Tensors& t, const fs::path& shared) { requantise(t, shared, kDown2, 63, 63); }, {}},
      // compressed-tensors' absmax/127.5 (codes reach -128) under the lmdeploy label.
      {"compressed_tensors_scales_labelled_lmdeploy", "weight_scale", kUp3,
       [](Tensors& t, const fs::path& shared) { requantise(t, shared, kUp3, 127.5, 127); }, {}},
      // q/k/v of layer 1 carry layer 3's s, and their weights are re-quantised from W·s3: every tensor
      // agrees with the others; only the statistics can tell.
      {"s_of_another_layer_with_consistent_weights", "migration_scale", kQ1,
       [](Tensors& t, const fs::path& shared) {
         for (const char* fc : {"q_proj", "k_proj", "v_proj"}) {
           const std::string mine = std::string("model.layers.1.self_attn.") + fc;
           const at::Tensor s3 = t[std::string("model.layers.3.self_attn.") + fc + ".migration_scale"];
           auto [q, scale] = quantise_rows(original_weight(shared, mine) * s3, 127, 127);
           t[mine + ".migration_scale"] = s3.clone();
           t[mine + ".weight"] = q;
           t[mine + ".scale"] = scale;
         }
       },
       {}},
      {"s_stored_inverted", "migration_scale", kDown2,
       [](Tensors& t, const fs::path&) { t[std::string(kDown2) + ".migration_scale"] = t[std::string(kDown2) + ".migration_scale"].reciprocal(); },
       {}},
      {"scale_stored_transposed", "layout", kO4,
       [](Tensors& t, const fs::path&) { t[std::string(kO4) + ".scale"] = t[std::string(kO4) + ".scale"].t().contiguous(); }, {}},
      // Weights quantised without smoothing, beside the s they should have been multiplied by.
      {"unsmoothed_weights_in_one_linear", "weight_scale", kUp3,
       [](Tensors& t, const fs::path& shared) {
         auto [q, scale] = quantise_rows(original_weight(shared, kUp3), 127, 127);
         t[std::string(kUp3) + ".weight"] = q;
         t[std::string(kUp3) + ".scale"] = scale;
       },
       {}},
      {"one_code_off_by_one", "codes", kO4,
       [](Tensors& t, const fs::path&) {
         at::Tensor w = t[std::string(kO4) + ".weight"];
         const int8_t c = w[5][9].item<int8_t>();
         w[5][9] = static_cast<int8_t>(c == 127 ? 126 : c + 1);
       },
       {}},
      // A code off by three is past the §8 bound, in the first and in the last row: the weights check scans
      // every row (in blocks, beside the re-derivation), the first and the last block included.
      {"first_row_code_off_by_three", "weights", kO4,
       [](Tensors& t, const fs::path&) {
         at::Tensor w = t[std::string(kO4) + ".weight"];
         const int8_t c = w[0][9].item<int8_t>();
         w[0][9] = static_cast<int8_t>(c > 0 ? c - 3 : c + 3);
       },
       {}},
      {"last_row_code_off_by_three", "weights", kO4,
       [](Tensors& t, const fs::path&) {
         at::Tensor w = t[std::string(kO4) + ".weight"];
         const int64_t last = w.size(0) - 1;
         const int8_t c = w[last][2].item<int8_t>();
         w[last][2] = static_cast<int8_t>(c > 0 ? c - 3 : c + 3);
       },
       {}},
      // Tensors quantisation does not produce must be the original's, bit for bit: a norm the export's mode
      // leaves alone (or, fused, one that is not the original divided by s) and the embedding.
      {"layer_norm_scaled", "unquantised", "model.layers.2.post_attention_layernorm.weight",
       [](Tensors& t, const fs::path&) {
         at::Tensor& w = t["model.layers.2.post_attention_layernorm.weight"];
         w = w * 1.5;
       },
       {}},
      {"one_embedding_value_changed", "unquantised", "model.embed_tokens.weight",
       [](Tensors& t, const fs::path&) {
         at::Tensor w = t["model.embed_tokens.weight"].clone();
         w[7][3] = w[7][3].item<double>() + 0.25;
         t["model.embed_tokens.weight"] = w;
       },
       {}},
      // The config records another α than the one the scales were made with.
      {"alpha_recorded_wrongly", "migration_scale", "model.layers.0.self_attn.q_proj", {},
       [](nlohmann::json& qc) { qc["alpha"] = 0.6; }},
      // The config says the model was not smoothed, the tensors say it was.
      {"smoothing_recorded_as_off", "migration_scale", "model.layers.0.self_attn.q_proj", {},
       [](nlohmann::json& qc) { qc["smoothing"] = false; }},
  };
}

class TamperedExport : public ::testing::TestWithParam<Tamper> {};

TEST_P(TamperedExport, IsRejectedNamingTheCheckAndTheLinear) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const Tamper& tamper = GetParam();
  const fs::path& honest = honest_export(shared);
  Tensors t = read_checkpoint_tensors(honest);
  if (tamper.tensors) tamper.tensors(t, shared);
  const fs::path dir = write_export(honest, t, tamper.name, tamper.config);
  const pipeline::VerifyReport r = verify(shared, dir, /*with_stats=*/true, /*forward=*/false);
  EXPECT_FALSE(r.passed()) << tamper.name << " was accepted";
  EXPECT_TRUE(rejected_by(r, tamper.check, tamper.linear))
      << tamper.name << ": no '" << tamper.check << "' failure naming " << tamper.linear << "; failures:\n"
      << all_failures(r);
  std::printf("[ rejected ] %s: %zu failures, first: %s\n", tamper.name, r.failures.size(),
              r.failures.empty() ? "-" : r.failures.front().c_str());
}

INSTANTIATE_TEST_SUITE_P(Stories260K, TamperedExport, ::testing::ValuesIn(tampers()),
                         [](const ::testing::TestParamInfo<Tamper>& i) { return std::string(i.param.name); });

// The honest export passes every check, all of which ran; without the statistics the same export is
// not called passed: the migration scales could not be re-derived.
TEST(HonestExport, PassesCompletelyWithStatisticsAndIsIncompleteWithout) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path& honest = honest_export(shared);
  const pipeline::VerifyReport full = verify(shared, honest, true, true);
  EXPECT_TRUE(full.passed()) << all_failures(full);
  EXPECT_TRUE(full.complete());
  for (const pipeline::CheckOutcome& c : full.checks()) EXPECT_EQ(c.state, pipeline::CheckState::passed) << c.check;
  for (const pipeline::LinearCheck& c : full.linears) {
    EXPECT_GE(c.migration_scale_error_u, 0.0) << c.name;
    EXPECT_EQ(c.wrong_codes, 0) << c.name;
  }

  const pipeline::VerifyReport partial = verify(shared, honest, false, true);
  EXPECT_TRUE(partial.passed()) << all_failures(partial);
  EXPECT_FALSE(partial.complete());
  ASSERT_TRUE(partial.not_run.count("migration_scale"));
  for (const pipeline::CheckOutcome& c : partial.checks())
    if (c.check == "migration_scale") {
      EXPECT_EQ(c.state, pipeline::CheckState::not_run);
    }
}

// Without statistics, a self-consistent s of another layer is invisible to the tensors: that is why
// the report must not say passed.
TEST(HonestExport, AnotherLayersSIsOnlyCaughtWithStatistics) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const Tamper tamper = tampers()[3];
  ASSERT_STREQ(tamper.name, "s_of_another_layer_with_consistent_weights");
  const fs::path& honest = honest_export(shared);
  Tensors t = read_checkpoint_tensors(honest);
  tamper.tensors(t, shared);
  const fs::path dir = write_export(honest, t, "another-layer-no-stats");
  const pipeline::VerifyReport r = verify(shared, dir, false, false);
  EXPECT_FALSE(r.complete());
  EXPECT_FALSE(rejected_by(r, "migration_scale", kQ1));
}

// The forward thresholds (verify.h) against the two defects the tensors alone do not show: the export
// run without its runtime division (quantization_config says fused, so the W8A8 pass never divides by
// s), and weights that were never multiplied by the s the runtime divides by.
TEST(ForwardThresholds, RejectAnExportRunWithoutItsRuntimeDivision) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path& honest = honest_export(shared);
  const fs::path dir = write_export(honest, read_checkpoint_tensors(honest), "without-division",
                                    [](nlohmann::json& qc) { qc["mode"] = "fused"; });
  const pipeline::VerifyReport r = verify(shared, dir, true, true);
  EXPECT_TRUE(rejected_by(r, "forward", "")) << all_failures(r);
  std::printf("[ forward  ] without division: max|dlogit| %.2f, argmax %.1f%%, NLL +%.3f\n", r.max_abs_logit_delta,
              100 * r.argmax_agreement, r.nll_quantized - r.nll_original);
}

TEST(ForwardThresholds, RejectAnUnsmoothedExport) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path& honest = honest_export(shared);
  Tensors t = read_checkpoint_tensors(honest);
  for (auto& [name, tensor] : Tensors(t))
    if (name.size() > 16 && name.compare(name.size() - 16, 16, ".migration_scale") == 0) {
      const std::string linear = name.substr(0, name.size() - 16);
      auto [q, scale] = quantise_rows(original_weight(shared, linear), 127, 127);
      t[linear + ".weight"] = q;
      t[linear + ".scale"] = scale;
    }
  const pipeline::VerifyReport r = verify(shared, write_export(honest, t, "unsmoothed"), true, true);
  EXPECT_TRUE(rejected_by(r, "forward", "")) << all_failures(r);
  std::printf("[ forward  ] unsmoothed: max|dlogit| %.2f, argmax %.1f%%, NLL +%.3f\n", r.max_abs_logit_delta,
              100 * r.argmax_agreement, r.nll_quantized - r.nll_original);
}

}  // namespace
}  // namespace smoothcheck::testing
