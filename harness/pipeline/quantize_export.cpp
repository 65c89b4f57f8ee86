#include "harness/pipeline/quantize_export.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checked_ops.h"
#include "harness/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/json_text.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/staged_directory.h"
#include "harness/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;

ExportFormat parse_export_format(const std::string& s) {
  if (s == "safetensors") return ExportFormat::safetensors;
  if (s == "bin") return ExportFormat::bin;
  throw std::invalid_argument("unknown format '" + s + "' (safetensors, bin)");
}

const char* to_string(ExportFormat f) { return f == ExportFormat::safetensors ? "safetensors" : "bin"; }

namespace {

const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f64: return "float64";
    default: return "float32";
  }
}

at::Tensor from_vector(const std::vector<float>& v, std::vector<int64_t> shape) {
  at::Tensor t = at::empty(shape, at::kFloat);
  std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
  return t;
}

// config.json of the export: the input's (or, for a llama2.c file, one written from its header) plus
// quantization_config.
nlohmann::json export_config(const checkpoint::ModelDir& m, const checkpoint::LlamaConfig& c, DType dtype,
                             const QuantizationConfig& q) {
  nlohmann::json j;
  if (m.config_json) {
    j = checkpoint::read_json_file(*m.config_json, "config.json", 4, 16ull << 20);
  } else {
    j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", c.hidden_size},
         {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_hidden_layers},
         {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
         {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_position_embeddings},
         {"rms_norm_eps", c.rms_norm_eps}, {"rope_theta", c.rope_theta}, {"hidden_act", "silu"},
         {"tie_word_embeddings", c.tie_word_embeddings}, {"torch_dtype", torch_dtype_name(dtype)}};
  }
  j["quantization_config"] = to_json(q);
  return j;
}

// Tokenizer and generation files travel with the model; weights and indexes are rewritten instead.
void copy_side_files(const fs::path& from, const fs::path& to) {
  for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json"}) {
    std::error_code ec;
    if (fs::is_regular_file(from / name, ec)) fs::copy_file(from / name, to / name);
  }
}

}  // namespace

ExportSummary quantize_and_export(kernels::Backend& backend, const QuantizeOptions& o) {
  if (!(o.alpha >= 0.0f && o.alpha <= 1.0f)) throw std::invalid_argument("--alpha must lie in [0, 1]");
  if (!o.migration_scales && o.mode == SmoothMode::migration)
    throw std::invalid_argument("a migration-mode export needs its migration scales: the runtime divides by them");
  if (path_within(o.out, o.model) || path_within(o.model, o.out))
    throw std::invalid_argument("the output " + o.out.string() + " and the model " + o.model.string() +
                                " overlap; the input is never modified, choose another output directory");
  const checkpoint::ModelDir model = checkpoint::open_model_dir(o.model);
  const checkpoint::LlamaConfig config = checkpoint::llama_config(model);
  const CalibrationStats stats = read_calibration_stats(o.stats, config);
  StagedDirectory stage(o.out, o.force);  // refuses an existing output before any work

  FloatLlamaWeights weights = load_float_weights(*model.checkpoint, config);
  SmoothingOptions so;
  so.recipe = o.recipe;
  so.alpha = o.alpha;
  so.mode = o.mode;
  const SmoothingResult smoothing = smooth_model(backend, config, stats, so, weights);

  const DType dtype = weights.stored_dtype;
  const QuantizedLayoutConfig lc = layout_config_from(config, dtype);
  QuantizedLayoutConfig stored_lc = lc;
  stored_lc.dtype = dtype;  // the bytes decide, whatever config.json's torch_dtype says

  std::map<std::string, at::Tensor> produced;
  int64_t linears = 0;
  for (const auto& [name, w] : weights.linears) {
    at::Tensor q = at::empty({w.rows, w.cols}, at::kChar);
    std::vector<float> scale(static_cast<std::size_t>(w.rows));
    checked::quantize_weight(backend, w.view(), o.weight_variant,
                             kernels::MutMatrix{q.data_ptr<int8_t>(), DType::i8, w.rows, w.cols, w.cols},
                             checked::MutFloatSpan{scale.data(), w.rows});
    produced[name + ".weight"] = q;
    produced[name + ".scale"] = from_vector(scale, {w.rows, 1});
    produced[name + ".migration_scale"] = from_vector(smoothing.migration_scales.at(name), {w.cols});
    ++linears;
  }
  if (o.mode == SmoothMode::fused)
    for (const auto& [name, v] : weights.norms) {
      at::Tensor t = from_vector(v, {static_cast<int64_t>(v.size())}).to(checkpoint::to_scalar_type(dtype));
      if (!at::isfinite(t).all().item<bool>())
        throw std::range_error(name + ".weight: the smoothed norm overflows " + std::string(to_string(dtype)) +
                               " (s too small for this recipe/alpha); use migration mode or another alpha");
      produced[name + ".weight"] = t;
    }

  checkpoint::NamedTensors tensors;
  for (const ExportTensor& e : quantized_export_tensors(stored_lc, o.migration_scales)) {
    auto it = produced.find(e.name);
    at::Tensor t = it != produced.end() ? it->second : model.checkpoint->tensor(e.name);
    if (t.sizes().vec() != e.shape || checkpoint::from_scalar_type(t.scalar_type()) != e.dtype)
      throw CheckpointError(model.checkpoint->location(), e.name,
                            "has " + checkpoint::shape_string(t.sizes().vec()) + " " + std::string(t.dtype().name()) +
                                " but the quantized layout expects " + checkpoint::shape_string(e.shape) + " " +
                                to_string(e.dtype));
    tensors.push_back({e.name, t});
  }

  checkpoint::ShardedWrite written;
  if (o.format == ExportFormat::safetensors)
    written = checkpoint::write_safetensors_sharded(stage.path(), tensors, o.max_shard_bytes, {}, "model");
  else
    written = checkpoint::write_torch_bin_sharded(stage.path(), tensors, o.max_shard_bytes, "pytorch_model");
  const int64_t expected = quantized_export_total_size(stored_lc, o.migration_scales);
  if (written.total_size != static_cast<uint64_t>(expected))
    throw std::logic_error("export total_size " + std::to_string(written.total_size) +
                           " differs from the quantized layout's " + std::to_string(expected));

  QuantizationConfig qc;
  qc.recipe = o.recipe;
  qc.alpha = o.alpha;
  qc.mode = o.mode;
  qc.weight_variant = o.weight_variant;
  qc.migration_scales = o.migration_scales;
  qc.stats_file = fs::absolute(o.stats).string();
  const std::string config_text = export_config(model, config, dtype, qc).dump(2) + "\n";
  AtomicFileWriter cfg(stage.path() / "config.json");
  cfg.write(config_text.data(), config_text.size());
  cfg.commit();
  if (model.config_json) copy_side_files(model.dir, stage.path());

  ExportSummary summary;
  summary.dir = stage.target();
  summary.total_size = written.total_size;
  summary.expected_total_size = expected;
  summary.linears = linears;
  stage.commit();
  summary.index_file = summary.dir / written.index_file.filename();
  for (const fs::path& s : written.shards) summary.shards.push_back(summary.dir / s.filename());
  return summary;
}

}  // namespace smoothcheck::pipeline
