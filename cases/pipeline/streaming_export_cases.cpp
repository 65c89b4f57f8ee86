// The layer-by-layer export and verify (issue 5, "Scale"): an export streamed into many small shards
// is byte for byte the export streamed into one, in both formats, and passes verify; verify without
// its forward check says it skipped it and still catches a wrong weight code and a wrong fused norm,
// so the checks that stay on for large models can fail.
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/verify.h"
#include "pipeline_test_support.h"

namespace smoothcheck::testing {
namespace {

namespace fs = std::filesystem;

pipeline::QuantizeOptions stories_export(const fs::path& shared, const fs::path& out) {
  pipeline::QuantizeOptions q;
  q.model = stories_layout(shared, "hf");
  q.stats = small_stats(shared, "hf");
  q.out = out;
  return q;
}

// Every tensor of an export by name, as bytes, whichever shards hold it.
std::map<std::string, std::string> tensor_bytes(const fs::path& dir) {
  const auto m = checkpoint::open_model_dir(dir);
  std::map<std::string, std::string> out;
  for (const auto& n : m.checkpoint->tensor_names()) {
    const at::Tensor t = m.checkpoint->tensor(n).contiguous();
    out[n] = std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
  }
  return out;
}

pipeline::VerifyReport verify_without_forward(const fs::path& original, const fs::path& quantized) {
  pipeline::VerifyOptions v;
  v.original = original;
  v.quantized = quantized;
  v.forward = false;
  return pipeline::verify_export(cpu_backend(), v);
}

class StreamingExport : public ::testing::TestWithParam<pipeline::ExportContainer> {};

TEST_P(StreamingExport, ManySmallShardsHoldTheSameTensorsAndVerify) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  pipeline::QuantizeOptions one = stories_export(shared, scratch / "one");
  one.container = GetParam();
  pipeline::QuantizeOptions many = one;
  many.out = scratch / "many";
  many.max_shard_bytes = 16 << 10;  // a layer of stories260K (~50 KB of codes) spans several shards
  const auto a = pipeline::quantize_and_export(cpu_backend(), one);
  const auto b = pipeline::quantize_and_export(cpu_backend(), many);
  EXPECT_EQ(a.shards.size(), 1u);
  EXPECT_GT(b.shards.size(), 10u);
  EXPECT_EQ(a.total_size, b.total_size);
  EXPECT_EQ(tensor_bytes(one.out), tensor_bytes(many.out));
  const auto r = verify_without_forward(many.model, many.out);
  EXPECT_TRUE(r.passed()) << r.to_json().dump(2);
  EXPECT_TRUE(r.forward_skipped);
  EXPECT_TRUE(r.to_json()["forward"]["skipped"].get<bool>());
  EXPECT_EQ(r.linears.size(), static_cast<std::size_t>(a.linears));
}

INSTANTIATE_TEST_SUITE_P(Formats, StreamingExport,
                         ::testing::Values(pipeline::ExportContainer::safetensors, pipeline::ExportContainer::bin),
                         [](const auto& info) { return std::string(pipeline::to_string(info.param)); });

// The export with one tensor changed by `edit`, written as a fresh sharded export beside it.
template <class Edit>
fs::path tampered_copy(const fs::path& good, const fs::path& bad, const std::string& victim, Edit edit) {
  const auto m = checkpoint::open_model_dir(good);
  checkpoint::NamedTensors tensors;
  for (const auto& n : m.checkpoint->tensor_names()) {
    at::Tensor t = m.checkpoint->tensor(n);
    if (n == victim) edit(t);
    tensors.push_back({n, t});
  }
  fs::create_directory(bad);
  checkpoint::write_safetensors_sharded(bad, tensors, 1ull << 30);
  fs::copy_file(good / "config.json", bad / "config.json");
  return bad;
}

bool names(const pipeline::VerifyReport& r, const std::string& what) {
  for (const auto& f : r.failures)
    if (f.find(what) != std::string::npos) return true;
  return false;
}

TEST(StreamingVerify, WithoutForwardStillCatchesAWrongCodeInTheLastLayer) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const auto q = stories_export(shared, scratch / "good");
  pipeline::quantize_and_export(cpu_backend(), q);
  const std::string victim = "model.layers.4.self_attn.o_proj";
  const fs::path bad = tampered_copy(q.out, scratch / "bad", victim + ".weight", [](at::Tensor& t) {
    const int8_t v = t[5][7].item<int8_t>();
    t[5][7] = static_cast<int8_t>(v > 0 ? v - 2 : v + 2);
  });
  const auto r = verify_without_forward(q.model, bad);
  EXPECT_FALSE(r.passed());
  EXPECT_TRUE(names(r, victim)) << r.to_json().dump(2);
}

TEST(StreamingVerify, WithoutForwardStillCatchesAWrongFusedNorm) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  ScratchDir scratch;
  const auto q = stories_export(shared, scratch / "good");  // fused mode: norms hold original / s
  pipeline::quantize_and_export(cpu_backend(), q);
  const std::string victim = "model.layers.2.post_attention_layernorm.weight";
  const fs::path bad = tampered_copy(q.out, scratch / "bad", victim, [](at::Tensor& t) { t[3] = t[3] * 1.01; });
  const auto r = verify_without_forward(q.model, bad);
  EXPECT_FALSE(r.passed());
  EXPECT_TRUE(names(r, victim)) << r.to_json().dump(2);
}

}  // namespace
}  // namespace smoothcheck::testing
