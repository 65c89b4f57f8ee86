#include "pipeline_test_support.h"

#include <map>
#include <memory>

#include "harness/backends.h"
#include "harness/checkpoint/model_dir.h"
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

}  // namespace smoothcheck::testing
