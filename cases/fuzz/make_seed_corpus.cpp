// Writes the committed seed corpora of the fuzz targets (scripts/fuzz.sh corpus): small valid inputs of
// every format, made with the project's own writers where it has one, so that mutation starts from
// files that pass validation and reaches the checks past the first one.
//
//   make_seed_corpus <cases/fuzz/corpus>
//
// Only seed-* files are (re)written; reproducers of findings (crash-*, see README "Robustness") sit
// beside them and are kept.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "cases/checkpoint/little_endian_bytes.h"
#include "fuzz_support.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/lmdeploy_inputs_stats.h"

namespace {

namespace fs = std::filesystem;
using smoothcheck::checkpoint::NamedTensors;
using smoothcheck::testing::i32_le;
using smoothcheck::testing::u64_le;

void write_text(const fs::path& file, const std::string& text) {
  smoothcheck::fuzz::write_file(file, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

NamedTensors every_dtype() {
  return {{"f32", at::arange(6, at::kFloat).reshape({2, 3})}, {"f16", at::ones({4}, at::kHalf)},
          {"bf16", at::full({2, 2}, 0.5, at::kBFloat16)},       {"i8", at::arange(-2, 3, at::kChar)},
          {"i32", at::full({1}, 7, at::kInt)},                   {"f64", at::zeros({2}, at::kDouble)},
          {"empty", at::zeros({0, 4}, at::kFloat)},              {"scalar", at::full({}, 3.0, at::kFloat)}};
}

void safetensors_seeds(const fs::path& dir) {
  using smoothcheck::checkpoint::write_safetensors;
  write_safetensors(dir / "seed-every-dtype", every_dtype(), {{"format", "pt"}});
  write_safetensors(dir / "seed-one-tensor", {{"model.norm.weight", at::ones({8}, at::kFloat)}});
  // Hand-made: a gap between ranges and an empty tensor at the end (both legal).
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
      R"("z":{"dtype":"I8","shape":[0],"data_offsets":[8,8]}})";
  write_text(dir / "seed-gap-and-empty", u64_le(header.size()) + header + std::string(8, '\x01'));
}

void shard_index_seeds(const fs::path& dir) {
  // Shard names are those shard_index_fuzz.cpp creates beside the index.
  for (const std::string stem : {"model", "pytorch_model"}) {
    const std::string ext = stem == "model" ? ".safetensors" : ".bin";
    smoothcheck::checkpoint::ShardIndex index;
    index.total_size = 4 * 4 + 4 * 2 + 3;
    index.weight_map = {{"a", stem + "-00001-of-00002" + ext},
                        {"b", stem + "-00001-of-00002" + ext},
                        {"c", stem + "-00002-of-00002" + ext}};
    smoothcheck::checkpoint::write_shard_index(dir / ("seed-" + stem + "-index"), index);
  }
  write_text(dir / "seed-float-total-size",
             R"({"metadata":{"total_size":27.0,"format":"pt"},"weight_map":{"c":"model-00002-of-00002.safetensors"}})");
}

void llama_config_seeds(const fs::path& dir) {
  const std::string stories = R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,)"
                              R"("intermediate_size":172,"num_hidden_layers":5,"num_attention_heads":8,)"
                              R"("num_key_value_heads":4,"vocab_size":512,"max_position_embeddings":512,)"
                              R"("rms_norm_eps":1e-05,"rope_theta":10000.0,"hidden_act":"silu",)"
                              R"("tie_word_embeddings":true,"bos_token_id":1,"eos_token_id":2,"torch_dtype":"float32"})";
  write_text(dir / "seed-stories260k", stories);
  write_text(dir / "seed-minimal", R"({"hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,)"
                                   R"("num_attention_heads":2,"vocab_size":4})");
  write_text(dir / "seed-explicit-fields",
             R"({"hidden_size":16,"intermediate_size":32,"num_hidden_layers":2,"num_attention_heads":4,)"
             R"("num_key_value_heads":2,"head_dim":4,"vocab_size":10,"rope_scaling":null,"attention_bias":false,)"
             R"("mlp_bias":false,"torch_dtype":"bfloat16","quantization_config":{"quant_method":"smooth_quant",)"
             R"("alpha":0.5,"recipe":{"name":"lmdeploy"}}})");
}

// A llama2.c file: the header, then every float32 array the header implies (values 0.01 * index).
std::string llama2c_image(std::int32_t dim, std::int32_t hidden, std::int32_t layers, std::int32_t heads,
                          std::int32_t kv_heads, std::int32_t vocab, std::int32_t seq, bool shared) {
  std::string s;
  for (std::int32_t v : {dim, hidden, layers, heads, kv_heads, shared ? vocab : -vocab, seq}) s += i32_le(v);
  const std::int64_t head_dim = dim / heads, kv = head_dim * kv_heads;
  std::int64_t floats = std::int64_t(vocab) * dim +
                        layers * (dim + dim * dim + 2 * kv * dim + dim * dim + dim + 3 * std::int64_t(hidden) * dim) +
                        dim + seq * head_dim + (shared ? 0 : std::int64_t(vocab) * dim);
  for (std::int64_t i = 0; i < floats; ++i) {
    const float f = 0.01f * static_cast<float>(i % 97);
    s.append(reinterpret_cast<const char*>(&f), 4);
  }
  return s;
}

void llama2c_seeds(const fs::path& dir) {
  write_text(dir / "seed-tied", llama2c_image(8, 16, 1, 2, 1, 4, 4, true));
  write_text(dir / "seed-untied", llama2c_image(4, 4, 2, 2, 2, 3, 2, false));
}

void calibration_stats_seeds(const fs::path& dir) {
  // The two linears of calibration_stats_fuzz.cpp.
  smoothcheck::pipeline::CalibrationStats stats;
  for (const auto& [name, in] : std::vector<std::pair<std::string, int>>{
           {"model.layers.0.self_attn.q_proj", 4}, {"model.layers.0.mlp.down_proj", 6}}) {
    smoothcheck::pipeline::LinearStats s;
    for (int j = 0; j < in; ++j) {
      s.min.push_back(-0.5f * j);
      s.max.push_back(1.0f + j);
      s.absmax.push_back(1.0f + j);
      s.mean.push_back(0.25f);
      s.absmean.push_back(0.5f + 0.1f * j);
    }
    stats.linears[name] = s;
  }
  stats.metadata = {{"samples", "4"}, {"seq_len", "32"}};
  smoothcheck::pipeline::write_calibration_stats(dir / "seed-two-linears", stats);
  // lmdeploy's inputs_stats.pth of the same statistics, float16 as lmdeploy writes for a float16 model.
  smoothcheck::pipeline::write_lmdeploy_inputs_stats(
      dir / "seed-lmdeploy-two-linears", stats,
      {{"model.layers.0.self_attn.q_proj", 4, 4, false}, {"model.layers.0.mlp.down_proj", 6, 4, false}},
      smoothcheck::DType::f16);
}

void bin_loader_seeds(const fs::path& dir) {
  using smoothcheck::checkpoint::write_torch_bin;
  NamedTensors supported;
  for (auto& t : every_dtype())
    if (t.name != "scalar") supported.push_back(t);
  write_torch_bin(dir / "seed-torch-every-dtype", supported);
  write_torch_bin(dir / "seed-torch-one-tensor", {{"model.norm.weight", at::ones({8}, at::kFloat)}});
  write_text(dir / "seed-llama2c", llama2c_image(8, 16, 1, 2, 1, 4, 4, true));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seed_corpus <cases/fuzz/corpus>\n";
    return 2;
  }
  const fs::path root = argv[1];
  const std::vector<std::pair<std::string, void (*)(const fs::path&)>> targets = {
      {"safetensors", safetensors_seeds}, {"shard_index", shard_index_seeds},
      {"llama_config", llama_config_seeds}, {"llama2c", llama2c_seeds},
      {"calibration_stats", calibration_stats_seeds}, {"bin_loader", bin_loader_seeds}};
  for (const auto& [name, make] : targets) {
    const fs::path dir = root / name;
    fs::create_directories(dir);
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().filename().string().rfind("seed-", 0) == 0) fs::remove(entry.path());
    make(dir);
    std::cout << "make_seed_corpus: " << dir.string() << "\n";
  }
  return 0;
}
