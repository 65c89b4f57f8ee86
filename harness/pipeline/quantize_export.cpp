#include "harness/pipeline/quantize_export.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <cstring>
#include <future>
#include <optional>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/safetensors_stream_writer.h"
#include "harness/pipeline/export_in_format.h"
#include "harness/pipeline/weight_quantization.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/smooth_model.h"
#include "harness/pipeline/smoothing_units.h"
#include "harness/pipeline/staged_directory.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;

ExportContainer parse_export_container(const std::string& s) {
  if (s == "safetensors") return ExportContainer::safetensors;
  if (s == "bin") return ExportContainer::bin;
  throw std::invalid_argument("unknown container '" + s + "' (safetensors, bin)");
}

const char* to_string(ExportContainer f) { return f == ExportContainer::safetensors ? "safetensors" : "bin"; }

namespace {

// Tokenizer, generation and sentence-transformers files travel with the model; weights and indexes are
// rewritten instead.
void copy_side_files(const fs::path& from, const fs::path& to) {
  for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json", "vocab.txt", "modules.json", "sentence_bert_config.json",
                           "config_sentence_transformers.json"}) {
    std::error_code ec;
    if (fs::is_regular_file(from / name, ec)) fs::copy_file(from / name, to / name);
  }
  // sentence-transformers' pooling head (1_Pooling/config.json), which verify and users need.
  std::error_code ec;
  if (fs::is_regular_file(from / "1_Pooling" / "config.json", ec)) {
    fs::create_directory(to / "1_Pooling");
    fs::copy_file(from / "1_Pooling" / "config.json", to / "1_Pooling" / "config.json");
  }
}

// What the common exporter needs of a model family (model_family.h): its units, the statistics, the
// tensors the export must hold, and its config.json (without quantization_config).
struct PreparedModel {
  std::vector<SmoothingUnit> units;
  CalibrationStats stats;
  std::vector<ExportTensor> layout;
  checkpoint::OpaqueTensors opaque;  // carried byte for byte
  nlohmann::json config;
  DType dtype = DType::f32;          // the unquantised tensors' stored dtype
  bool norms_smoothed = false;       // fused mode: the smoothed norms replace the input's
};

PreparedModel prepare(const ModelFamily& family, const QuantizeOptions& o) {
  // The groups come first: a mode the family cannot make exact is refused with the validator's reasons
  // before anything is read.
  const std::vector<SmoothingGroup> groups = family.smoothing_groups(o.mode, o.fc_to_fc_pairs);
  const std::vector<QuantizedLinear> linears = family.linears();
  PreparedModel p;
  p.stats = read_calibration_stats(o.stats, linears);
  p.units = smoothing_units(linears, family.norms(), groups);
  p.dtype = family.stored_dtype();
  const bool own = o.format == QuantizedFormat::smoothcheck;
  p.layout = family.export_tensors(o.migration_scales && own);
  if (!own) p.layout = layout_in_format(p.layout, linears, o.format, p.dtype);
  p.opaque = family.checkpoint().opaque_tensors();
  p.config = family.export_config();
  p.norms_smoothed = o.mode == SmoothMode::fused;
  return p;
}

// One produced tensor's bytes, as the export stores them.
struct ProducedTensor {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

template <class T>
ProducedTensor produced_tensor(DType dtype, std::vector<int64_t> shape, const T* data, std::size_t n) {
  const auto* b = reinterpret_cast<const uint8_t*>(data);
  return {dtype, std::move(shape), std::vector<uint8_t>(b, b + n * sizeof(T))};
}

// Loads one unit's float32 weights, smooths them (or not: s = 1) and quantises its linears per output
// channel: <linear>.weight, .scale, .migration_scale and, in fused mode, the smoothed norms' .weight.
std::map<std::string, ProducedTensor> produce_unit(kernels::Backend& backend, const checkpoint::Checkpoint& ckpt,
                                                   const SmoothingUnit& unit, const PreparedModel& p,
                                                   const QuantizeOptions& o, FloatBufferPool& pool,
                                                   BufferPool<uint8_t>& code_buffers, std::vector<uint16_t>& narrowed) {
  FloatWeights w = load_float_weights(ckpt, unit.linears, unit.norms, &pool);
  // In the model's dtype (SmoothingArithmetic::model_dtype) the smoothed weights hold values of that
  // dtype and are quantised as such, so that the quantisers that work in the weight's dtype
  // (numerics::weight_arithmetic) do; in float32 they are quantised as the f32 values they are.
  const DType arithmetic = smoothing_dtype(o.smoothing_arithmetic, p.dtype);
  SmoothingResult smoothing;
  if (o.smooth) {
    SmoothingOptions so;
    so.recipe = o.recipe;
    so.alpha = o.alpha;
    so.group_alphas = o.group_alphas;
    so.mode = o.mode;
    so.arithmetic = arithmetic;
    smoothing = smooth_groups(backend, unit.groups, p.stats, so, w);
  } else {
    for (const auto& [name, m] : w.linears) smoothing.migration_scales[name] = std::vector<float>(m.cols, 1.0f);
  }
  std::map<std::string, ProducedTensor> out;
  for (auto& [name, m] : w.linears) {
    ProducedTensor& q = out[name + ".weight"];
    q = ProducedTensor{DType::i8, {m.rows, m.cols}, code_buffers.take(m.data.size())};
    std::vector<float> scale(static_cast<std::size_t>(m.rows));
    quantize_weight_rows(backend, m, o.weight_variant, arithmetic, reinterpret_cast<int8_t*>(q.bytes.data()),
                         scale.data(), &narrowed);
    pool.give(std::move(m.data));  // the float copy is done with: the next unit's load reuses it
    const DType scale_dtype = scale_tensor_dtype(o.format, p.dtype);
    if (scale_dtype == DType::f32) {
      out[scale_tensor_name(o.format, name)] = produced_tensor(DType::f32, {m.rows, 1}, scale.data(), scale.size());
    } else {
      // compressed-tensors keeps the scale in the weight's dtype; its quantiser computed it there, so the
      // conversion is exact (checked: a scale that is not would be another number than the codes used).
      const at::Tensor f = at::from_blob(scale.data(), {m.rows, 1}, at::kFloat);
      const at::Tensor t = f.to(checkpoint::to_scalar_type(scale_dtype)).contiguous();
      if (!at::equal(t.to(at::kFloat), f))
        throw std::logic_error(name + ": a weight scale is not a value of " + std::string(to_string(scale_dtype)));
      out[scale_tensor_name(o.format, name)] = produced_tensor(scale_dtype, {m.rows, 1},
                                                               static_cast<const uint8_t*>(t.data_ptr()),
                                                               static_cast<std::size_t>(t.nbytes()));
    }
    if (o.migration_scales && o.format == QuantizedFormat::smoothcheck) {
      const std::vector<float>& s = smoothing.migration_scales.at(name);
      out[name + ".migration_scale"] = produced_tensor(DType::f32, {m.cols}, s.data(), s.size());
    }
  }
  if (p.norms_smoothed)
    for (const auto& [name, v] : w.norms) {
      const auto n = static_cast<int64_t>(v.size());
      const at::Tensor t = at::from_blob(const_cast<float*>(v.data()), {n}, at::kFloat)
                               .to(checkpoint::to_scalar_type(p.dtype)).contiguous();
      if (!at::isfinite(t).all().item<bool>())
        throw std::range_error(name + ".weight: the smoothed norm overflows " + std::string(to_string(p.dtype)) +
                               " (s too small for this recipe/alpha); use migration mode or another alpha");
      out[name + ".weight"] = produced_tensor(p.dtype, {n}, static_cast<const uint8_t*>(t.data_ptr()),
                                       static_cast<std::size_t>(t.nbytes()));
    }
  pool.give(w);
  return out;
}

[[noreturn]] void layout_mismatch(const checkpoint::Checkpoint& ckpt, const ExportTensor& e,
                                  const std::vector<int64_t>& shape, const std::string& dtype) {
  throw CheckpointError(ckpt.location(), e.name,
                        "has " + checkpoint::shape_string(shape) + " " + dtype + " but the quantized layout expects " +
                            checkpoint::shape_string(e.shape) + " " + to_string(e.dtype));
}

// A run of the layout whose bytes are ready, in order, each with what owns its bytes: a unit's produced
// tensors, or one tensor carried over from the input (in place in its mapping where the format maps
// it, else a copy).
struct ReadySegment {
  struct Item {
    std::string name;
    ProducedTensor produced;
    std::optional<checkpoint::MappedTensorBytes> mapped;
    at::Tensor copy;
  };
  std::vector<Item> items;
};

// Writes a segment, dropping each carried tensor's input pages once written; returns it, so that its
// code buffers can be recycled.
ReadySegment write_segment(checkpoint::ShardedTensorStream& out, ReadySegment segment) {
  for (ReadySegment::Item& item : segment.items) {
    if (item.mapped) {
      out.write(item.name, item.mapped->data, item.mapped->info.nbytes);
      item.mapped->release(0, item.mapped->info.nbytes);
    } else if (item.copy.defined()) {
      out.write(item.name, item.copy.data_ptr(), item.copy.nbytes());
    } else {
      out.write(item.name, item.produced.bytes.data(), item.produced.bytes.size());
    }
  }
  return segment;
}

// An input tensor the export carries over unchanged, checked against the layout.
ReadySegment::Item carried_tensor(const checkpoint::Checkpoint& model, const ExportTensor& e) {
  ReadySegment::Item item;
  item.name = e.name;
  if (model.contains(e.name)) item.mapped = model.mapped(e.name);
  if (item.mapped) {
    if (item.mapped->info.shape != e.shape || item.mapped->info.dtype != e.dtype)
      layout_mismatch(model, e, item.mapped->info.shape, to_string(item.mapped->info.dtype));
    return item;
  }
  item.copy = model.tensor(e.name).contiguous();
  if (item.copy.sizes().vec() != e.shape || checkpoint::from_scalar_type(item.copy.scalar_type()) != e.dtype)
    layout_mismatch(model, e, item.copy.sizes().vec(), std::string(item.copy.dtype().name()));
  return item;
}

// Streams the layout into `out` in order: a tensor of a unit is produced with the rest of its unit when
// the layout first reaches it and dropped once written; every other tensor is carried over from the
// input. Each run of ready tensors is written by a second thread while the next unit is computed: a
// disk takes the export's bytes at a few hundred MB/s even before its fsync (485 MB/s on this
// project's VMs), which at 1.1B was 2.5 s of quantize's time on one core while the other waited.
// Returns the number of linears quantised.
int64_t stream_export(kernels::Backend& backend, const checkpoint::Checkpoint& model, const PreparedModel& p,
                      const QuantizeOptions& o, checkpoint::ShardedTensorStream& out) {
  std::map<std::string, std::size_t> unit_of;  // produced tensor name -> unit
  int64_t linears = 0;
  for (std::size_t u = 0; u < p.units.size(); ++u) {
    for (const QuantizedLinear& q : p.units[u].linears)
      for (const char* suffix : {".weight", ".scale", ".weight_scale", ".migration_scale"}) unit_of[q.name + suffix] = u;
    if (p.norms_smoothed)
      for (const NormSpec& n : p.units[u].norms) unit_of[n.name + ".weight"] = u;
    linears += static_cast<int64_t>(p.units[u].linears.size());
  }
  std::map<std::string, ProducedTensor> produced;
  FloatBufferPool pool;
  BufferPool<uint8_t> code_buffers;  // each written int8 weight's bytes, for the next unit's codes
  std::vector<uint16_t> narrowed;     // each linear's smoothed weights in a 16-bit model dtype, for the kernel
  ReadySegment ready;                 // the tensors ready since the last hand-over
  std::future<ReadySegment> writing;  // the segment before, being written
  const auto recycle = [&](ReadySegment written) {
    for (ReadySegment::Item& item : written.items)
      if (item.produced.dtype == DType::i8) code_buffers.give(std::move(item.produced.bytes));
  };
  // Waits for the segment being written (rethrowing its error), then starts writing `ready`.
  const auto hand_over = [&] {
    if (writing.valid()) recycle(writing.get());
    if (ready.items.empty()) return;
    writing = std::async(std::launch::async, write_segment, std::ref(out), std::move(ready));
    ready = ReadySegment();
  };
  // Writes what is ready and waits until every write is done.
  const auto write_all = [&] {
    hand_over();
    if (writing.valid()) recycle(writing.get());
  };
  for (const ExportTensor& e : p.layout) {
    const auto unit = unit_of.find(e.name);
    if (unit == unit_of.end()) {
      // Written by the second thread too: at 1.1B the 131 MB embedding goes to disk while the first layer
      // is computed. Its input pages stay resident until the whole of it is written; the peak RSS that
      // pipeline_scale_benchmark measures includes them.
      hand_over();
      pool = FloatBufferPool();  // past the layers (lm_head is next to come): a layer's memory is free again
      code_buffers = BufferPool<uint8_t>();
      narrowed = std::vector<uint16_t>();
      ready.items.push_back(carried_tensor(model, e));
      continue;
    }
    auto it = produced.find(e.name);
    if (it == produced.end()) {
      // The layout keeps each layer's tensors together, so this happens once per unit; were a unit
      // revisited, it would be recomputed, identically, rather than kept. The tensors ready so far are
      // written meanwhile.
      hand_over();
      produced = produce_unit(backend, model, p.units[unit->second], p, o, pool, code_buffers, narrowed);
      it = produced.find(e.name);
      if (it == produced.end()) throw std::logic_error(e.name + " is in the layout but its unit does not produce it");
    }
    if (it->second.shape != e.shape || it->second.dtype != e.dtype)
      layout_mismatch(model, e, it->second.shape, to_string(it->second.dtype));
    ready.items.push_back(ReadySegment::Item{e.name, std::move(it->second), std::nullopt, at::Tensor()});
    produced.erase(it);
  }
  for (const checkpoint::OpaqueTensor& t : p.opaque) {
    write_all();
    out.write(t.name, t.bytes.data(), t.bytes.size());
  }
  write_all();
  return linears;
}

}  // namespace

QuantizeOptions options_for_engine(Engine engine) {
  const EngineProfile profile = engine_profile(engine);
  QuantizeOptions o;
  o.engine = engine;
  o.recipe = profile.recipe;
  o.alpha = profile.alpha;
  o.fc_to_fc_pairs = profile.fc_to_fc_pairs;
  o.smoothing_arithmetic = profile.smoothing_arithmetic;
  o.weight_variant = profile.weight;
  return o;
}

ExportSummary quantize_and_export(kernels::Backend& backend, const QuantizeOptions& o) {
  if (!(o.alpha >= 0.0f && o.alpha <= 1.0f)) throw std::invalid_argument("--alpha must lie in [0, 1]");
  if (!o.migration_scales && o.mode == SmoothMode::migration)
    throw std::invalid_argument("a migration-mode export needs its migration scales: the runtime divides by them");
  if (path_within(o.out, o.model) || path_within(o.model, o.out))
    throw std::invalid_argument("the output " + o.out.string() + " and the model " + o.model.string() +
                                " overlap; the input is never modified, choose another output directory");
  require_format_options(o.format, o.mode, o.weight_variant, o.migration_scales);
  const std::unique_ptr<ModelFamily> family = open_model_family(o.model);
  StagedDirectory stage(o.out, o.force);  // refuses an existing output before any work; removed on failure
  PreparedModel p = prepare(*family, o);

  std::vector<checkpoint::PlannedTensor> plan;
  for (const ExportTensor& e : p.layout)
    plan.push_back({e.name, checkpoint::safetensors_name(e.dtype), e.shape, static_cast<uint64_t>(e.bytes())});
  for (const checkpoint::OpaqueTensor& t : p.opaque) plan.push_back({t.name, t.dtype, t.shape, t.bytes.size()});
  const std::unique_ptr<checkpoint::ShardedTensorStream> out =
      o.container == ExportContainer::safetensors
          ? checkpoint::open_sharded_safetensors_stream(stage.path(), plan, o.max_shard_bytes, {}, "model")
          : checkpoint::open_sharded_torch_bin_stream(stage.path(), plan, o.max_shard_bytes, "pytorch_model");
  const int64_t linears = stream_export(backend, family->checkpoint(), p, o, *out);
  const checkpoint::ShardedWrite written = out->finish();
  const int64_t expected = total_size(p.layout) + checkpoint::total_bytes(p.opaque);
  if (written.total_size != static_cast<uint64_t>(expected))
    throw std::logic_error("export total_size " + std::to_string(written.total_size) +
                           " differs from the quantized layout's " + std::to_string(expected));
  QuantizationConfig qc = config_of_profile(engine_profile(o.engine));
  qc.recipe = o.recipe;
  qc.alpha = o.alpha;
  qc.group_alphas = o.group_alphas;
  qc.mode = o.mode;
  qc.fc_to_fc_pairs = family->recorded_fc_to_fc_pairs(o.fc_to_fc_pairs);
  qc.weight_variant = o.weight_variant;
  qc.smoothing_arithmetic = o.smoothing_arithmetic;
  qc.migration_scales = o.migration_scales;
  qc.smoothing = o.smooth;
  qc.stats_file = fs::absolute(o.stats).string();
  if (o.format == QuantizedFormat::smoothcheck) {
    p.config["quantization_config"] = to_json(qc);
  } else {
    // The format's own config for its loader; what smoothcheck did beside it, for provenance only
    // (verify recovers the smoothing from the tensors, never from this record).
    p.config["quantization_config"] = third_party_quantization_config(o.format);
    qc.migration_scales = false;
    p.config["smoothcheck_export"] = to_json(qc);
  }
  const std::string config_text = p.config.dump(2) + "\n";
  AtomicFileWriter cfg(stage.path() / "config.json");
  cfg.write(config_text.data(), config_text.size());
  cfg.commit();
  if (family->dir().config_json) copy_side_files(family->dir().dir, stage.path());

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
