// `quantize --engine E` against upstream's own smoothing and quantisation of the whole stories260K
// model (scripts/upstream_known_answers/whole_model.py wrote cases/upstream_known_answers/stories260K/:
// lmdeploy's awq.smooth_ln_fcs / smooth_fc_fcs and QLinear.from_float, llm-compressor's
// SmoothQuantModifier with compressed-tensors' quantiser, a port of the SmoothQuant authors' smooth.py
// and fake_quant.py), on the same model in float32 and bfloat16 and the same committed statistics,
// compared tensor by tensor in fused mode (upstream has no migration vector).
//
// Tiers. In a bf16 model both sides take the same roundings step by step (kernels/numerics.h, "smoothing
// in the model's dtype"); only float32 pow may differ by an f32 ulp, which the rounding to bf16 almost
// always absorbs: s within one bf16 ulp. In float32 upstream's weight statistic is a float32 mean over
// up to 172 rows summed in torch's own order, smoothcheck's a float64 sum rounded once, and the
// normalisation max·min carries the extreme channels' differences to every channel: s within eight
// float32 ulps (measured: 7, lmdeploy's down_proj). Every step after s is one rounding on each side, so
//   - a linear whose every s (its columns', and its rows' where a fc->fc pair divides them) equals
//     upstream's bit for bit must have upstream's codes and scales bit for bit; a norm whose s is
//     equal, upstream's norm weight;
//   - elsewhere an s some ulps apart moves the smoothed weights by as many ulps: scales and norms within
//     the s tier + 1 ulps, codes at most one apart, and no more than kOffByOneShare of them (the
//     share a one-ulp difference of s can move; the wrong arithmetic moves far more, see the can-fail
//     test below).
// One difference is by design: the authors' fake quant keeps a bf16 quotient that rounds to 128; an
// int8 export saturates it to 127 (kernels/numerics.h weight_code). Those codes are counted apart.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/quantize_export.h"
#include "pipeline_test_support.h"
#include "reference/reference.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(SMOOTHCHECK_SOURCE_DIR) / "cases" / "upstream_known_answers" / "stories260K";
double scale_tier_ulps(DType model) { return model == DType::f32 ? 8 : 1; }
constexpr double kOffByOneShare = 0.01;

const char* upstream_stem(Engine e) {
  switch (e) {
    case Engine::lmdeploy: return "lmdeploy";
    case Engine::smoothquant: return "smoothquant_authors";
    case Engine::llmcompressor: return "llmcompressor";
  }
  return "?";
}

std::vector<double> values(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

double ulps_apart(double ours, double upstream, DType dtype) {
  if (ours == upstream) return 0;
  if (!std::isfinite(ours) || !std::isfinite(upstream)) return INFINITY;
  return std::fabs(ours - upstream) / reference::ulp_of(upstream, dtype);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

struct Comparison {
  int64_t groups = 0, exact_groups = 0;
  double worst_s_ulps = 0, worst_scale_ulps = 0, worst_norm_ulps = 0;
  int64_t codes = 0, equal_codes = 0, off_by_one = 0, saturated_128 = 0, exact_linears = 0, linears = 0;
  int64_t tiered_codes = 0;  // codes of linears with an s not equal bit for bit
  std::vector<std::string> failures;

  void fail(const std::string& what) {
    if (failures.size() < 12) failures.push_back(what);
  }
  std::string text() const {
    std::ostringstream o;
    for (const std::string& f : failures) o << f << "\n";
    return o.str();
  }
};

// The upstream s that multiplied a linear's columns, and the one that divided its rows (fused fc->fc
// pairs), as keys of the upstream file ("" for none). upstream names a group's s after its first fc in
// upstream's own order (lmdeploy: k_proj before q_proj).
std::string first_present(const checkpoint::Checkpoint& up, const std::string& layer, std::initializer_list<const char*> fcs) {
  for (const char* fc : fcs)
    if (up.contains(layer + fc + ".smoothing_scale")) return layer + fc + ".smoothing_scale";
  return "";
}
std::string column_scale_key(const checkpoint::Checkpoint& up, const std::string& layer, const std::string& linear) {
  if (linear == "self_attn.q_proj" || linear == "self_attn.k_proj" || linear == "self_attn.v_proj")
    return first_present(up, layer, {"self_attn.k_proj", "self_attn.q_proj", "self_attn.v_proj"});
  if (linear == "mlp.gate_proj" || linear == "mlp.up_proj") return first_present(up, layer, {"mlp.gate_proj", "mlp.up_proj"});
  return first_present(up, layer, {linear.c_str()});  // o_proj, down_proj: their fc->fc pair's, if smoothed
}
std::string row_scale_key(const checkpoint::Checkpoint& up, const std::string& layer, const std::string& linear) {
  if (linear == "mlp.up_proj") return first_present(up, layer, {"mlp.down_proj"});
  if (linear == "self_attn.v_proj") return first_present(up, layer, {"self_attn.o_proj"});
  return "";
}

Comparison compare_with_upstream(const checkpoint::Checkpoint& up, const checkpoint::Checkpoint& ours, DType dtype,
                                 int64_t layers) {
  Comparison c;
  const double tier = scale_tier_ulps(dtype);
  std::map<std::string, bool> exact;  // by upstream s key
  for (const std::string& name : up.tensor_names()) {
    if (!ends_with(name, ".smoothing_scale")) continue;
    const std::string linear = name.substr(0, name.size() - std::string(".smoothing_scale").size());
    const std::vector<double> u = values(up.tensor(name)), o = values(ours.tensor(linear + ".migration_scale"));
    if (u.size() != o.size()) {
      c.fail(name + ": " + std::to_string(u.size()) + " channels upstream, " + std::to_string(o.size()) + " here");
      continue;
    }
    bool same = true;
    for (std::size_t j = 0; j < u.size(); ++j) {
      const double d = ulps_apart(o[j], u[j], dtype);  // s in ulps of the dtype it was computed in
      c.worst_s_ulps = std::max(c.worst_s_ulps, d);
      same = same && d == 0;
      if (d > tier) c.fail(name + "[" + std::to_string(j) + "]: smoothcheck " + std::to_string(o[j]) +
                                     ", upstream " + std::to_string(u[j]) + " (" + std::to_string(d) + " ulp)");
    }
    ++c.groups;
    c.exact_groups += same;
    exact[name] = same;
  }
  const auto exact_or_none = [&](const std::string& key) { return key.empty() || exact.at(key); };
  const char* kLinears[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                            "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
  for (int64_t l = 0; l < layers; ++l) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
    for (const char* linear : kLinears) {
      const std::string name = layer + linear;
      const bool inputs_exact = exact_or_none(column_scale_key(up, layer, linear)) && exact_or_none(row_scale_key(up, layer, linear));
      ++c.linears;
      c.exact_linears += inputs_exact;
      const std::vector<double> uq = values(up.tensor(name + ".weight")), oq = values(ours.tensor(name + ".weight"));
      c.codes += static_cast<int64_t>(uq.size());
      if (!inputs_exact) c.tiered_codes += static_cast<int64_t>(uq.size());
      for (std::size_t i = 0; i < uq.size(); ++i) {
        if (oq[i] == uq[i]) {
          ++c.equal_codes;
        } else if (uq[i] == 128 && oq[i] == 127) {
          ++c.saturated_128;
        } else if (std::fabs(oq[i] - uq[i]) == 1 && !inputs_exact) {
          ++c.off_by_one;
        } else {
          c.fail(name + ".weight[" + std::to_string(i) + "]: smoothcheck " + std::to_string(int(oq[i])) + ", upstream " +
                 std::to_string(int(uq[i])) + (inputs_exact ? " (every s of this linear equals upstream's)" : ""));
        }
      }
      const DType scale_dtype = up.info(name + ".scale").dtype;
      const std::vector<double> us = values(up.tensor(name + ".scale")), os = values(ours.tensor(name + ".scale"));
      for (std::size_t r = 0; r < us.size(); ++r) {
        const double d = ulps_apart(os[r], us[r], scale_dtype);
        c.worst_scale_ulps = std::max(c.worst_scale_ulps, d);
        if (d > (inputs_exact ? 0 : tier + 1))
          c.fail(name + ".scale[" + std::to_string(r) + "]: " + std::to_string(d) + " ulp from upstream's");
      }
    }
    for (const auto& [norm, group_fc] : {std::pair<std::string, std::string>{"input_layernorm", "self_attn.q_proj"},
                                         {"post_attention_layernorm", "mlp.gate_proj"}}) {
      const std::string name = layer + norm + ".weight";
      const bool s_exact = exact_or_none(column_scale_key(up, layer, group_fc));
      const std::vector<double> un = values(up.tensor(name)), on = values(ours.tensor(name));
      for (std::size_t j = 0; j < un.size(); ++j) {
        const double d = ulps_apart(on[j], un[j], dtype);
        c.worst_norm_ulps = std::max(c.worst_norm_ulps, d);
        if (d > (s_exact ? 0 : tier + 1)) c.fail(name + "[" + std::to_string(j) + "]: " + std::to_string(d) + " ulp from upstream's");
      }
    }
  }
  if (double(c.off_by_one) > kOffByOneShare * double(c.tiered_codes))
    c.fail(std::to_string(c.off_by_one) + " codes one apart, more than " + std::to_string(kOffByOneShare * 100) +
           "% of the " + std::to_string(c.tiered_codes) + " codes whose s is not equal bit for bit");
  return c;
}

fs::path model_of(const fs::path& shared, DType dtype) {
  return dtype == DType::f32 ? stories_layout(shared, "hf") : stories_bf16(shared);
}

// quantize in fused mode with the committed statistics; `adjust` changes one option (the can-fail test).
Comparison quantize_and_compare(const fs::path& shared, Engine engine, DType dtype,
                                const std::function<void(pipeline::QuantizeOptions&)>& adjust = {}) {
  pipeline::QuantizeOptions q = pipeline::options_for_engine(engine);
  q.model = model_of(shared, dtype);
  q.stats = kDir / "calibration_stats.safetensors";
  q.mode = SmoothMode::fused;
  if (adjust) adjust(q);
  q.out = process_scratch() / (std::string("upstream-whole-") + to_string(engine) + "-" + to_string(dtype) + (adjust ? "-adjusted" : ""));
  fs::remove_all(q.out);
  pipeline::quantize_and_export(cpu_backend(), q);
  const auto up = checkpoint::open_safetensors(kDir / (std::string(upstream_stem(engine)) + "_" + to_string(dtype) + ".safetensors"));
  const auto ours = checkpoint::open_model_dir(q.out);
  return compare_with_upstream(*up, *ours.checkpoint, dtype, checkpoint::llama_config(ours).num_hidden_layers);
}

class UpstreamWholeModel : public ::testing::TestWithParam<std::tuple<Engine, DType>> {};

TEST_P(UpstreamWholeModel, QuantizeMatchesUpstreamsOwnSmoothingAndQuantisation) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto [engine, dtype] = GetParam();
  const Comparison c = quantize_and_compare(shared, engine, dtype);
  EXPECT_TRUE(c.failures.empty()) << to_string(engine) << " " << to_string(dtype) << ":\n" << c.text();
  EXPECT_GT(c.groups, 0);
  if (engine != Engine::smoothquant || dtype != DType::bf16) {
    EXPECT_EQ(c.saturated_128, 0);
  }
  std::printf("[ upstream  ] %s %s: s of %lld/%lld groups bit for bit (worst %.2f ulp); %lld/%lld linears with every s "
              "equal; codes %lld/%lld equal, %lld one apart, %lld upstream +128 stored as 127; scales within %.2f ulp, "
              "norms within %.2f ulp\n",
              to_string(engine), to_string(dtype), (long long)c.exact_groups, (long long)c.groups, c.worst_s_ulps,
              (long long)c.exact_linears, (long long)c.linears, (long long)c.equal_codes, (long long)c.codes,
              (long long)c.off_by_one, (long long)c.saturated_128, c.worst_scale_ulps, c.worst_norm_ulps);
}

INSTANTIATE_TEST_SUITE_P(Stories260K, UpstreamWholeModel,
                         ::testing::Combine(::testing::Values(Engine::lmdeploy, Engine::smoothquant, Engine::llmcompressor),
                                            ::testing::Values(DType::f32, DType::bf16)),
                         [](const auto& i) {
                           return std::string(to_string(std::get<0>(i.param))) + "_" + to_string(std::get<1>(i.param));
                         });

// The comparison can fail for the reasons it exists: each profile choice made wrong on the whole model
// (what a user who picked the wrong engine, or a pipeline that ignores the profile, would export).
TEST(UpstreamWholeModelCanFail, CatchesEveryProfileChoiceMadeWrong) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  struct Wrong {
    const char* what;
    Engine engine;
    DType dtype;
    std::function<void(pipeline::QuantizeOptions&)> change;
  };
  const Wrong wrongs[] = {
      {"smoothing in float32 instead of the model's bf16", Engine::lmdeploy, DType::bf16,
       [](pipeline::QuantizeOptions& q) { q.smoothing_arithmetic = SmoothingArithmetic::float32; }},
      {"compressed-tensors' weights quantised with lmdeploy's absmax/127", Engine::llmcompressor, DType::bf16,
       [](pipeline::QuantizeOptions& q) { q.weight_variant = WeightQuant::lmdeploy; }},
      {"lmdeploy's recipe under llm-compressor", Engine::llmcompressor, DType::f32,
       [](pipeline::QuantizeOptions& q) { q.recipe = Recipe::lmdeploy; }},
      {"the authors' plan (no fc->fc pairs) under lmdeploy", Engine::lmdeploy, DType::f32,
       [](pipeline::QuantizeOptions& q) { q.fc_to_fc_pairs = false; }},
      {"alpha 0.55 instead of 0.5", Engine::smoothquant, DType::f32, [](pipeline::QuantizeOptions& q) { q.alpha = 0.55f; }},
  };
  for (const Wrong& w : wrongs) {
    const Comparison c = quantize_and_compare(shared, w.engine, w.dtype, w.change);
    EXPECT_FALSE(c.failures.empty()) << w.what << " passed the whole-model comparison";
    std::printf("[ caught    ] %s: %s", w.what, c.failures.empty() ? "not caught\n" : (c.failures.front() + "\n").c_str());
  }
}

}  // namespace
}  // namespace smoothcheck::testing
