// The engine profiles (kernels/engine_profiles.h) through the pipeline on stories260K: `quantize` with
// each engine round-trips through `verify`; quantization_config records the profile and its runtime;
// verify re-derives with the recorded smoothing groups and runs the recorded runtime, so that an
// export whose config misstates either is caught.
#include <cstdio>
#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/calibrate.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/quantization_config.h"
#include "harness/pipeline/verify.h"
#include "harness/pipeline/w8a8_llama.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;

const Engine kEngines[] = {Engine::lmdeploy, Engine::smoothquant, Engine::llmcompressor};

// One export per (engine, mode), made once per process.
const fs::path& engine_export(const fs::path& shared, Engine engine, SmoothMode mode) {
  static std::map<std::pair<Engine, SmoothMode>, fs::path> made;
  auto it = made.find({engine, mode});
  if (it != made.end()) return it->second;
  pipeline::QuantizeOptions q = pipeline::options_for_engine(engine);
  q.model = stories_layout(shared, "hf");
  q.stats = small_stats(shared, "hf");
  q.mode = mode;
  q.out = process_scratch() / (std::string("engine-") + to_string(engine) + "-" + to_string(mode));
  pipeline::quantize_and_export(cpu_backend(), q);
  return made.emplace(std::make_pair(engine, mode), q.out).first->second;
}

pipeline::VerifyReport verify(const fs::path& shared, const fs::path& quantized) {
  pipeline::VerifyOptions v;
  v.original = stories_layout(shared, "hf");
  v.quantized = quantized;
  v.tokens = 64;
  v.seed = 3;
  v.stats = small_stats(shared, "hf");
  return pipeline::verify_export(cpu_backend(), v);
}

std::string engine_failures(const pipeline::VerifyReport& r) {
  std::string s;
  for (const auto& f : r.failures) s += f + "\n";
  return s;
}

// Every choice a profile makes, as a quantization_config records it.
void expect_same_profile(const pipeline::QuantizationConfig& got, const pipeline::QuantizationConfig& want) {
  EXPECT_EQ(got.engine, want.engine);
  EXPECT_EQ(got.recipe, want.recipe);
  EXPECT_EQ(got.alpha, want.alpha);
  EXPECT_EQ(got.weight_variant, want.weight_variant);
  EXPECT_EQ(got.fc_to_fc_pairs, want.fc_to_fc_pairs);
  EXPECT_EQ(got.smoothing_arithmetic, want.smoothing_arithmetic);
  EXPECT_EQ(got.activation.rounding, want.activation.rounding);
  EXPECT_EQ(got.activation.math, want.activation.math);
  EXPECT_EQ(got.activation.clamp, want.activation.clamp);
  EXPECT_EQ(got.activation.zero_row, want.activation.zero_row);
  EXPECT_EQ(got.activation.absmax_floor, want.activation.absmax_floor);
  EXPECT_EQ(got.epilogue, want.epilogue);
}

class EngineRoundTrip : public ::testing::TestWithParam<std::tuple<Engine, SmoothMode>> {};

TEST_P(EngineRoundTrip, QuantizeRecordsTheProfileAndVerifyPasses) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto [engine, mode] = GetParam();
  const fs::path dir = engine_export(shared, engine, mode);
  const pipeline::QuantizationConfig qc = *pipeline::read_quantization_config(dir / "config.json");
  expect_same_profile(qc, pipeline::config_of_profile(engine_profile(engine)));

  const pipeline::VerifyReport r = verify(shared, dir);
  EXPECT_TRUE(r.passed()) << engine_failures(r);
  EXPECT_TRUE(r.complete());
}

INSTANTIATE_TEST_SUITE_P(Stories260K, EngineRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(kEngines),
                                            ::testing::Values(SmoothMode::fused, SmoothMode::migration)),
                         [](const auto& i) {
                           return std::string(to_string(std::get<0>(i.param))) + "_" + to_string(std::get<1>(i.param));
                         });

// The bf16 copy's own statistics, written once per process.
const fs::path& stories_bf16_stats(const fs::path& shared) {
  static const fs::path stats = [&] {
    const fs::path file = process_scratch() / "stories260K-bf16-stats.safetensors";
    const checkpoint::ModelDir m = checkpoint::open_model_dir(stories_bf16(shared));
    pipeline::CalibrationOptions o;
    o.samples = 4;
    o.seq_len = 32;
    o.seed = 7;
    pipeline::write_calibration_stats(file, pipeline::calibrate(*m.checkpoint, checkpoint::llama_config(m), cpu_backend(), o));
    return file;
  }();
  return stats;
}

// The bf16 copy through every engine: its own statistics, quantize, and verify re-deriving from it.
TEST(EngineRoundTripBf16, EveryEngineOnABf16Model) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = stories_bf16(shared);
  const fs::path stats = stories_bf16_stats(shared);
  for (Engine engine : kEngines)
    for (SmoothMode mode : {SmoothMode::fused, SmoothMode::migration}) {
      pipeline::QuantizeOptions q = pipeline::options_for_engine(engine);
      q.model = model;
      q.stats = stats;
      q.mode = mode;
      q.out = process_scratch() / (std::string("bf16-engine-") + to_string(engine) + "-" + to_string(mode));
      pipeline::quantize_and_export(cpu_backend(), q);
      pipeline::VerifyOptions v;
      v.original = model;
      v.quantized = q.out;
      v.tokens = 64;
      v.seed = 3;
      v.stats = stats;
      const pipeline::VerifyReport r = pipeline::verify_export(cpu_backend(), v);
      EXPECT_TRUE(r.passed()) << to_string(engine) << " " << to_string(mode) << ":\n" << engine_failures(r);
      EXPECT_TRUE(r.complete()) << to_string(engine) << " " << to_string(mode);
    }
}

// A bf16 model smoothed in its own dtype (every engine's way) or in float32 (the experiment): the two
// exports differ, each verifies with the arithmetic its config records, and a config that states the
// other one is caught. In the model's dtype every migration scale, smoothed norm and compressed-tensors
// weight scale is a bf16 value.
TEST(SmoothingArithmetic, ModelDtypeAndFloat32AreToldApart) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = stories_bf16(shared);
  std::map<SmoothingArithmetic, fs::path> exports;
  for (SmoothingArithmetic a : {SmoothingArithmetic::model_dtype, SmoothingArithmetic::float32}) {
    pipeline::QuantizeOptions q = pipeline::options_for_engine(Engine::llmcompressor);
    q.model = model;
    q.stats = stories_bf16_stats(shared);
    q.smoothing_arithmetic = a;
    q.out = process_scratch() / (std::string("bf16-arithmetic-") + to_string(a));
    fs::remove_all(q.out);
    pipeline::quantize_and_export(cpu_backend(), q);
    exports[a] = q.out;
  }
  const auto in_model_dtype = checkpoint::open_model_dir(exports[SmoothingArithmetic::model_dtype]);
  const auto in_float32 = checkpoint::open_model_dir(exports[SmoothingArithmetic::float32]);
  const std::string linear = "model.layers.1.mlp.gate_proj";
  const at::Tensor s_model = in_model_dtype.checkpoint->tensor(linear + ".migration_scale");
  const at::Tensor s_f32 = in_float32.checkpoint->tensor(linear + ".migration_scale");
  EXPECT_TRUE(at::equal(s_model, s_model.to(at::kBFloat16).to(at::kFloat))) << "s was not rounded to bf16";
  EXPECT_FALSE(at::equal(s_f32, s_f32.to(at::kBFloat16).to(at::kFloat))) << "float32 smoothing rounded s anyway";
  const at::Tensor scale = in_model_dtype.checkpoint->tensor(linear + ".scale");
  EXPECT_TRUE(at::equal(scale, scale.to(at::kBFloat16).to(at::kFloat)))
      << "compressed-tensors' weight scale of a bf16 weight is computed in bf16";
  EXPECT_FALSE(at::equal(in_model_dtype.checkpoint->tensor(linear + ".weight"), in_float32.checkpoint->tensor(linear + ".weight")));

  for (SmoothingArithmetic a : {SmoothingArithmetic::model_dtype, SmoothingArithmetic::float32}) {
    pipeline::VerifyOptions v;
    v.original = model;
    v.quantized = exports[a];
    v.tokens = 32;
    v.seed = 3;
    v.stats = stories_bf16_stats(shared);
    v.forward = false;
    const pipeline::VerifyReport honest = pipeline::verify_export(cpu_backend(), v);
    EXPECT_TRUE(honest.passed()) << to_string(a) << ":\n" << engine_failures(honest);

    const fs::path lying = process_scratch() / (std::string("bf16-arithmetic-misstated-") + to_string(a));
    fs::remove_all(lying);
    fs::copy(exports[a], lying, fs::copy_options::recursive);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(exports[a] / "config.json"));
    config["quantization_config"]["smoothing_arithmetic"] =
        to_string(a == SmoothingArithmetic::model_dtype ? SmoothingArithmetic::float32 : SmoothingArithmetic::model_dtype);
    std::ofstream(lying / "config.json") << config.dump(2);
    v.quantized = lying;
    const pipeline::VerifyReport r = pipeline::verify_export(cpu_backend(), v);
    EXPECT_FALSE(r.passed()) << "an export made in " << to_string(a) << " passed as the other arithmetic";
    std::printf("[ caught    ] %s export read as the other arithmetic: %s", to_string(a),
                r.failures.empty() ? "\n" : (r.failures.front().substr(0, 160) + "\n").c_str());
  }
}

// In migration mode every linear carries the s its columns were multiplied by. o_proj and down_proj
// are smoothed only by lmdeploy's fc->fc pairs; the SmoothQuant authors and llm-compressor smooth the
// norm groups only, so theirs carry ones.
TEST(EnginePlans, OnlyLmdeploySmoothsTheFcToFcPairs) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  for (Engine engine : kEngines) {
    const auto m = checkpoint::open_model_dir(engine_export(shared, engine, SmoothMode::migration));
    for (const char* linear : {"self_attn.o_proj", "mlp.down_proj", "self_attn.q_proj", "mlp.up_proj"}) {
      const at::Tensor s = m.checkpoint->tensor(std::string("model.layers.0.") + linear + ".migration_scale");
      const bool all_ones = s.eq(1.0f).all().item<bool>();
      const bool fc_to_fc = std::string(linear) == "self_attn.o_proj" || std::string(linear) == "mlp.down_proj";
      EXPECT_EQ(all_ones, fc_to_fc && !engine_profile(engine).fc_to_fc_pairs)
          << to_string(engine) << ": " << linear << (all_ones ? " carries ones" : " carries a smoothing scale");
    }
  }
}

// verify takes the groups from quantization_config: an lmdeploy export whose config claims the
// norm-groups-only plan has o_proj and down_proj scales that plan cannot explain.
TEST(EnginePlans, VerifyReDerivesWithTheRecordedGroups) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path honest = engine_export(shared, Engine::lmdeploy, SmoothMode::migration);
  const fs::path lying = process_scratch() / "engine-lmdeploy-config-without-fc-pairs";
  fs::remove_all(lying);
  fs::copy(honest, lying, fs::copy_options::recursive);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(honest / "config.json"));
  config["quantization_config"]["fc_to_fc_pairs"] = false;
  std::ofstream(lying / "config.json") << config.dump(2);

  const pipeline::VerifyReport r = verify(shared, lying);
  EXPECT_FALSE(r.passed()) << "the plan recorded in quantization_config is not the one verify used";
  EXPECT_NE(engine_failures(r).find("o_proj"), std::string::npos) << engine_failures(r);
  EXPECT_NE(engine_failures(r).find("migration_scale"), std::string::npos) << engine_failures(r);
}

// The forward check runs the runtime the config records: lmdeploy's per-token quantiser (half away
// from zero, x / scale, floor 1e-7) and epilogue give other logits than vLLM's on the same export.
TEST(EngineRuntimes, TheRecordedRuntimeIsTheOneThatRuns) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path dir = engine_export(shared, Engine::lmdeploy, SmoothMode::migration);
  const auto quant = checkpoint::open_model_dir(dir);
  const checkpoint::LlamaConfig config = checkpoint::llama_config(checkpoint::open_model_dir(stories_layout(shared, "hf")));
  const pipeline::QuantizationConfig lmdeploy_runtime = *pipeline::read_quantization_config(dir / "config.json");
  pipeline::QuantizationConfig vllm_runtime = lmdeploy_runtime;
  vllm_runtime.activation = llmcompressor_profile().activation;
  vllm_runtime.epilogue = llmcompressor_profile().epilogue;
  const at::Tensor tokens = at::arange(1, 65, at::kLong);
  const at::Tensor a = pipeline::W8A8Llama(*quant.checkpoint, config, lmdeploy_runtime, cpu_backend()).forward(tokens);
  const at::Tensor b = pipeline::W8A8Llama(*quant.checkpoint, config, vllm_runtime, cpu_backend()).forward(tokens);
  EXPECT_FALSE(at::equal(a, b)) << "the activation options and epilogue of quantization_config did not reach the run";
  // Both are the same model: the difference is rounding, far inside verify's forward thresholds.
  EXPECT_LT((a - b).abs().max().item<double>(), 2.0);
}

// quantization_config: the profile and runtime round-trip; an export written before profiles (no
// "engine") reads as lmdeploy's plan with vLLM's runtime, which is what it was run with; bad fields
// are refused naming them.
TEST(EngineQuantizationConfig, RoundTripsAndReadsOlderExports) {
  for (Engine e : kEngines) {
    const pipeline::QuantizationConfig q = pipeline::config_of_profile(engine_profile(e));
    expect_same_profile(pipeline::quantization_config_from_json(pipeline::to_json(q), "config.json"), q);
  }
  nlohmann::json old = pipeline::to_json(pipeline::config_of_profile(lmdeploy_profile()));
  for (const char* key : {"engine", "fc_to_fc_pairs", "activation", "epilogue", "smoothing_arithmetic"}) old.erase(key);
  const pipeline::QuantizationConfig q = pipeline::quantization_config_from_json(old, "config.json");
  EXPECT_EQ(q.engine, Engine::lmdeploy);
  EXPECT_EQ(q.smoothing_arithmetic, SmoothingArithmetic::float32);
  EXPECT_TRUE(q.fc_to_fc_pairs);
  EXPECT_EQ(q.activation.rounding, Rounding::half_even);
  EXPECT_EQ(q.activation.math, ScaleMath::reciprocal_multiply);
  EXPECT_EQ(q.epilogue, Epilogue::vllm);

  nlohmann::json bad = pipeline::to_json(pipeline::config_of_profile(lmdeploy_profile()));
  bad["engine"] = "tensorrt";
  try {
    pipeline::quantization_config_from_json(bad, "config.json");
    ADD_FAILURE() << "an unknown engine was accepted";
  } catch (const checkpoint::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown engine 'tensorrt' (lmdeploy, smoothquant, llmcompressor)"),
              std::string::npos)
        << e.what();
  }
  bad = pipeline::to_json(pipeline::config_of_profile(lmdeploy_profile()));
  bad["smoothing_arithmetic"] = "float64";
  EXPECT_THROW(pipeline::quantization_config_from_json(bad, "config.json"), checkpoint::CheckpointError);
  bad = pipeline::to_json(pipeline::config_of_profile(lmdeploy_profile()));
  bad["activation"]["rounding"] = "half_up";
  EXPECT_THROW(pipeline::quantization_config_from_json(bad, "config.json"), checkpoint::CheckpointError);
  bad = pipeline::to_json(pipeline::config_of_profile(lmdeploy_profile()));
  bad["activation"].erase("absmax_floor");
  EXPECT_THROW(pipeline::quantization_config_from_json(bad, "config.json"), checkpoint::CheckpointError);
}

}  // namespace
}  // namespace smoothcheck::testing
