#include "pipeline_test_support.h"

#include <fstream>
#include <map>
#include <memory>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "harness/backends.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/pipeline/calibrate.h"

namespace smoothcheck::testing {

std::filesystem::path stories_layout(const std::filesystem::path& shared, const std::string& layout) {
  return shared / "checkpoints" / "stories260K" / layout;
}

kernels::Backend& cpu_backend() {
  static std::unique_ptr<kernels::Backend> b = make_backend("cpu");
  return *b;
}

const std::filesystem::path& process_scratch() {
  static ScratchDir dir;
  return dir.path();
}

const std::filesystem::path& stories_bf16(const std::filesystem::path& shared) {
  static const std::filesystem::path dir = [&] {
    const std::filesystem::path hf = stories_layout(shared, "hf");
    const std::filesystem::path out = process_scratch() / "stories260K-bf16";
    std::filesystem::create_directories(out);
    const auto m = checkpoint::open_model_dir(hf);
    checkpoint::NamedTensors named;
    for (const std::string& name : m.checkpoint->tensor_names())
      named.push_back({name, m.checkpoint->tensor(name).to(at::kBFloat16)});
    checkpoint::write_safetensors(out / "model.safetensors", named);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(hf / "config.json"));
    config["torch_dtype"] = "bfloat16";
    std::ofstream(out / "config.json") << config.dump(2);
    return out;
  }();
  return dir;
}

const std::filesystem::path& small_stats(const std::filesystem::path& shared, const std::string& layout) {
  static std::map<std::string, std::filesystem::path> done;
  auto it = done.find(layout);
  if (it != done.end()) return it->second;
  const checkpoint::ModelDir m = checkpoint::open_model_dir(stories_layout(shared, layout));
  pipeline::CalibrationOptions o;
  o.samples = 4;
  o.seq_len = 32;
  o.seed = 7;
  const auto stats = pipeline::calibrate(*m.checkpoint, checkpoint::llama_config(m), cpu_backend(), o);
  const std::filesystem::path file = process_scratch() / ("stats-" + layout + ".safetensors");
  pipeline::write_calibration_stats(file, stats);
  return done.emplace(layout, file).first->second;
}

std::map<std::string, at::Tensor> read_checkpoint_tensors(const std::filesystem::path& dir) {
  const checkpoint::ModelDir m = checkpoint::open_model_dir(dir);
  std::map<std::string, at::Tensor> t;
  for (const std::string& name : m.checkpoint->tensor_names()) t[name] = m.checkpoint->tensor(name).clone();
  return t;
}

std::filesystem::path write_edited_copy(const std::filesystem::path& from, const std::map<std::string, at::Tensor>& tensors,
                                        const std::string& name,
                                        const std::function<void(nlohmann::json&)>& edit_quantization_config) {
  const std::filesystem::path dir = process_scratch() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  checkpoint::NamedTensors named;
  for (const auto& [n, t] : tensors) named.push_back({n, t});
  checkpoint::write_safetensors_sharded(dir, named, 200000);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(from / "config.json"));
  if (edit_quantization_config) edit_quantization_config(config["quantization_config"]);
  std::ofstream(dir / "config.json") << config.dump(2);
  return dir;
}

}  // namespace smoothcheck::testing
