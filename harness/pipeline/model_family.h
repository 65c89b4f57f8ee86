// What the pipeline asks of a model, whatever its architecture: `calibrate`, `quantize`, `verify` and
// `forward` open a ModelFamily and hold no architecture knowledge of their own. A family is opened once
// from a model directory (config.json read and validated once) and answers its quantised linears, the
// norms in front of them, its smoothing groups per mode, the stacked parameters an engine loads, the
// export's tensors and config, its calibration and its float forward pass, and the forward comparison
// that ends `verify`.
//
// Each family is one file (llama_family.cpp, bert_family.cpp) and one line of the registry in
// model_family.cpp, keyed by config.json's model_type. Adding a family is a new file answering these
// questions and its registry line; one whose arithmetic no forward pass has yet (Qwen2's q/k/v biases,
// Mistral's sliding window) also brings that forward pass to harness/models/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "harness/checkpoint/model_dir.h"
#include "harness/pipeline/calibrate.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/stacked_scales.h"
#include "harness/pipeline/verify.h"
#include "harness/models/quantized_layout.h"
#include "harness/models/smoothing_plan.h"

namespace smoothcheck::pipeline {

// Held-out input for the whole-model figures (sweep --whole-model, sensitivity): text the calibration
// did not see.
struct HeldOutOptions {
  int64_t sequences = 4;
  int64_t tokens = 128;  // per sequence (BERT: at most, [CLS] and [SEP] included)
  uint64_t seed = 1000;  // LLaMA: the sampling seed
  std::vector<std::filesystem::path> corpus;  // BERT: the corpus calibration read (empty: the built-in one)
};

class ModelFamily {
 public:
  explicit ModelFamily(checkpoint::ModelDir dir) : dir_(std::move(dir)) {}
  virtual ~ModelFamily() = default;
  ModelFamily(const ModelFamily&) = delete;
  ModelFamily& operator=(const ModelFamily&) = delete;

  // config.json's model_type: "llama", "bert".
  virtual const char* name() const = 0;
  const checkpoint::ModelDir& dir() const { return dir_; }
  const checkpoint::Checkpoint& checkpoint() const { return *dir_.checkpoint; }

  // The dtype the checkpoint stores its float weights in, read from the tensors (not config.json):
  // the export keeps its unquantised tensors in it, and model-dtype smoothing computes in it.
  virtual DType stored_dtype() const = 0;
  // Every quantised linear, layer by layer in forward order.
  virtual std::vector<QuantizedLinear> linears() const = 0;
  // Every norm a smoothing group may read.
  virtual std::vector<NormSpec> norms() const = 0;
  // The groups that share an s, with full tensor names, for `mode`; fc_to_fc_pairs: whether an engine's
  // fc -> fc groups are included, where the family has a choice. Throws std::invalid_argument with the
  // plan validator's reasons when the mode cannot be exact for this architecture.
  virtual std::vector<SmoothingGroup> smoothing_groups(SmoothMode mode, bool fc_to_fc_pairs) const = 0;
  // What quantization_config records as fc_to_fc_pairs for a request: the request, unless the family's
  // groups do not depend on it.
  virtual bool recorded_fc_to_fc_pairs(bool requested) const = 0;
  // Empty when an export in `mode` can be exact; otherwise why not, for verify's "mapping" failure.
  virtual std::string inexact_mode_reason(SmoothMode mode) const = 0;
  // The stacked parameters (q/k/v, gate/up) an engine loads with one migration vector each.
  virtual std::vector<StackedGroup> stacked_groups() const = 0;
  // The export's tensors, in the order they are written (the opaque tensors are carried besides).
  virtual std::vector<ExportTensor> export_tensors(bool with_migration_scales) const = 0;
  // The export's config.json, without quantization_config.
  virtual nlohmann::json export_config() const = 0;
  // Throws CheckpointError naming `quantized`'s config.json when it describes another model.
  virtual void require_same_model(const ModelFamily& quantized) const = 0;

  // The input statistics of every quantised linear (calibration_stats.h), progress to `progress`.
  virtual CalibrationStats calibrate(kernels::Backend& backend, const CalibrationOptions& o,
                                     const CalibrationProgress& progress) const = 0;
  // The float model's input to every quantised linear on the calibration set (o: the same options as
  // calibrate), as [tokens, in_features] float32, to `on_linear_input` once per batch and linear: what
  // `sweep` measures each group's W8A8 output error on.
  virtual void calibration_inputs(const CalibrationOptions& o, const CalibrationProgress& progress,
                                  const std::function<void(const std::string&, const at::Tensor&)>& on_linear_input)
      const = 0;
  // The float32 output rows of a token list: logits (a language model), hidden states (an encoder).
  virtual at::Tensor forward(const at::Tensor& tokens) const = 0;
  // Held-out token sequences: LLaMA samples them from the float model (o.seed); BERT takes the corpus's
  // last chunks (calibration takes its first, at most half).
  virtual std::vector<std::vector<int64_t>> heldout_sequences(const HeldOutOptions& o) const = 0;

  // verify's last check: the W8A8 export (`quantized`, with its quantization_config) against this
  // float model; fills the report's forward figures and appends "forward: …" failures.
  virtual ForwardComparison forward_comparison() const = 0;
  // Whether --no-forward may skip that check (it costs a whole-model forward pass at float32).
  virtual bool forward_check_optional() const = 0;
  // A model's forward in forward()'s form (tokens [T] -> float32 output rows).
  using Forward = std::function<at::Tensor(const at::Tensor& tokens)>;
  // A smoothcheck export (`quantized`, with its quantization_config) run with only the linears in
  // `int8_linears` in W8A8 and every other linear in float with the same smoothed weights (the original
  // times s, divided by a fused fc -> fc divisor): sensitivity's "one quantised" and "all but one" models
  // (linear_sensitivity.h). All quantised is the W8A8 forward; none, the float model up to the
  // smoothing's roundings.
  using PartlyQuantized = std::function<Forward(const std::set<std::string>& int8_linears)>;
  // The export's weights loaded once (int8 and float forms of every linear: a small model's worth of
  // memory), for as many int8 sets as sensitivity tries. The result refers to this family, `quantized`
  // and `backend`, which must outlive it.
  virtual PartlyQuantized partly_quantized_models(const checkpoint::Checkpoint& quantized, const QuantizationConfig& qc,
                                                  kernels::Backend& backend) const = 0;
  // One int8 set; on one token list.
  Forward partly_quantized_model(const checkpoint::Checkpoint& quantized, const QuantizationConfig& qc,
                                 kernels::Backend& backend, const std::set<std::string>& int8_linears) const {
    return partly_quantized_models(quantized, qc, backend)(int8_linears);
  }
  at::Tensor partly_quantized_forward(const checkpoint::Checkpoint& quantized, const QuantizationConfig& qc,
                                      kernels::Backend& backend, const std::set<std::string>& int8_linears,
                                      const at::Tensor& tokens) const {
    return partly_quantized_model(quantized, qc, backend, int8_linears)(tokens);
  }
  virtual void check_forward(kernels::Backend& backend, const ModelFamily& quantized, const QuantizationConfig& qc,
                             const VerifyOptions& o, VerifyReport& r) const = 0;

 protected:
  // The CheckpointError of require_same_model.
  [[noreturn]] void different_model(const ModelFamily& quantized) const;

 private:
  checkpoint::ModelDir dir_;
};

// The directory's family by config.json's model_type (a llama2.c file, which has no config.json, is
// LLaMA). Throws CheckpointError naming config.json for a model_type no family implements, and the
// family's own CheckpointError for an invalid config.
std::unique_ptr<ModelFamily> open_model_family(const std::filesystem::path& model);
std::unique_ptr<ModelFamily> open_model_family(checkpoint::ModelDir dir);

// The registered families, one per file; `config` is config.json's contents (null without one).
std::unique_ptr<ModelFamily> open_llama_family(checkpoint::ModelDir dir, const nlohmann::json& config);
std::unique_ptr<ModelFamily> open_bert_family(checkpoint::ModelDir dir, const nlohmann::json& config);

}  // namespace smoothcheck::pipeline
