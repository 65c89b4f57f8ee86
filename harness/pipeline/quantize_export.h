// `smoothcheck quantize`: smooth (smooth_model.h), quantise every linear per output channel with a
// production backend (numerics.md §5) and export the seed's layout (the model family's export tensors,
// model_family.h; LLaMA's is harness/models/quantized_layout.h):
// <linear>.weight int8 [O, C], <linear>.scale float32 [O, 1], <linear>.migration_scale float32 [C]
// (or another tool's layout: export_in_format.h), every other tensor as stored in the input (fused mode: the norms smoothed, in the input's dtype),
// shards plus an index whose metadata.total_size is exact, and config.json with quantization_config.
// The export is staged beside the output directory and renamed into place only when complete
// (staged_directory.h); the input is only ever read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/pipeline/quantization_config.h"
#include "harness/pipeline/quantized_format.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::pipeline {

enum class ExportContainer { safetensors, bin };
ExportContainer parse_export_container(const std::string& s);
const char* to_string(ExportContainer f);

struct QuantizeOptions {
  std::filesystem::path model;
  std::filesystem::path stats;
  std::filesystem::path out;
  // The engine profile (kernels/engine_profiles.h) the fields below start from; quantization_config
  // records it with the runtime it implies. The defaults are lmdeploy's.
  Engine engine = Engine::lmdeploy;
  Recipe recipe = Recipe::lmdeploy;
  float alpha = 0.5f;
  std::map<std::string, float> group_alphas;  // by group source (alpha_file.h); others take alpha
  SmoothMode mode = SmoothMode::fused;
  bool fc_to_fc_pairs = true;  // LLaMA v -> o and up -> down; BERT keeps smoothcheck's own groups
  SmoothingArithmetic smoothing_arithmetic = SmoothingArithmetic::model_dtype;
  WeightQuant weight_variant = WeightQuant::lmdeploy;
  ExportContainer container = ExportContainer::safetensors;
  // Whose checkpoint layout to write (export_in_format.h): smoothcheck's own, or compressed-tensors' /
  // lmdeploy's, which the upstream loaders read (fused mode, no migration scales).
  QuantizedFormat format = QuantizedFormat::smoothcheck;
  // Without migration scales the export is the pre-seed layout (fused mode only: a migration-mode
  // export cannot run without them). Exists so that the §11 total_size difference can be checked.
  bool migration_scales = true;
  // false: no smoothing at all (s = 1 everywhere, the statistics unused but still validated), the plain
  // W8A8 baseline that shows what smoothing buys.
  bool smooth = true;
  uint64_t max_shard_bytes = 5ull << 30;  // transformers' default shard size
  bool force = false;
};

struct ExportSummary {
  std::filesystem::path dir;
  std::filesystem::path index_file;
  std::vector<std::filesystem::path> shards;
  uint64_t total_size = 0;           // as written to the index
  int64_t expected_total_size = 0;   // quantized_export_total_size of the config
  int64_t linears = 0;
};

// Options with `engine`'s profile applied: its recipe, α, fc->fc pairs, smoothing arithmetic and weight
// quantiser. Callers then override single steps (the command line's --recipe, --alpha,
// --smoothing-arithmetic, --weight-variant).
QuantizeOptions options_for_engine(Engine engine);

// Throws CheckpointError (input or statistics problems, naming file and tensor) or std::invalid_argument
// (options, an existing output without force, an output inside the input).
ExportSummary quantize_and_export(kernels::Backend& backend, const QuantizeOptions& o);

}  // namespace smoothcheck::pipeline
