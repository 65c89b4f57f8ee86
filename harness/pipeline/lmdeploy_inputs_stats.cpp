#include "harness/pipeline/lmdeploy_inputs_stats.h"

#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/tensor_info.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::pipeline {

namespace {

using checkpoint::CheckpointError;

// calibration.py line 183's order, which the writer keeps.
const std::vector<std::string>& lmdeploy_order() {
  static const std::vector<std::string> order = {"max", "min", "mean", "absmax", "absmean"};
  return order;
}

// What the smoothing and the consistency check cannot do without; mean and absmean are optional.
bool required(const std::string& stat) { return stat == "absmax" || stat == "min" || stat == "max"; }

std::string entry_name(const std::string& stat, const std::string& module) { return stat + "[" + module + "]"; }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// One statistic of one linear as float32, after the dtype and shape checks; the tensor's storage may
// be shared or strided as the file stored it, so the values are copied through a contiguous float32
// tensor (f16 and bf16 convert exactly).
std::vector<float> statistic_values(const std::filesystem::path& file, const std::string& name, const at::Tensor& t,
                                    const QuantizedLinear& q) {
  const auto dtype = checkpoint::from_scalar_type(t.scalar_type());
  if (!dtype || (*dtype != DType::f16 && *dtype != DType::bf16 && *dtype != DType::f32))
    throw CheckpointError(file, name, std::string("has dtype ") + c10::toString(t.scalar_type()) +
                                          ", expected float16, bfloat16 or float32 (what lmdeploy's observers hold)");
  if (t.sizes().vec() != std::vector<int64_t>{q.in_features})
    throw CheckpointError(file, name,
                          "has shape " + checkpoint::shape_string(t.sizes().vec()) + " but " + q.name +
                              " of this model has in_features " + std::to_string(q.in_features) +
                              ": statistics of another model?");
  const at::Tensor f = t.to(at::kFloat).contiguous();
  std::vector<float> v(static_cast<std::size_t>(q.in_features));
  std::memcpy(v.data(), f.data_ptr<float>(), v.size() * sizeof(float));
  return v;
}

}  // namespace

DType lmdeploy_stats_dtype(DType model_dtype) { return model_dtype == DType::f16 ? DType::f16 : DType::f32; }

CalibrationStats read_lmdeploy_inputs_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears) {
  const std::set<std::string> wanted(stat_names().begin(), stat_names().end());
  const checkpoint::TensorTables tables = checkpoint::read_torch_tensor_tables(file, wanted);
  std::map<std::string, std::map<std::string, at::Tensor>> by_stat;  // statistic -> module -> tensor
  std::vector<std::string> read;
  for (const checkpoint::TensorTable& table : tables.tables) {
    read.push_back(table.key);
    auto& modules = by_stat[table.key];
    for (const auto& nt : table.tensors) modules[nt.name] = nt.tensor;
  }
  std::vector<std::string> all_keys = read;
  all_keys.insert(all_keys.end(), tables.other_keys.begin(), tables.other_keys.end());
  for (const std::string& stat : stat_names())
    if (required(stat) && !by_stat.count(stat))
      throw CheckpointError(file, "holds no '" + stat + "' statistics (its keys: " + joined(all_keys) +
                                      "); the smoothing needs absmax, min and max: not lmdeploy's inputs_stats.pth?");

  CalibrationStats out;
  out.metadata = {{"format", "lmdeploy inputs_stats.pth"}, {"statistics", joined(read)},
                  {"ignored", joined(tables.other_keys)}};
  for (const QuantizedLinear& q : linears) {
    LinearStats s;
    for (const std::string& stat : stat_names()) {
      const auto table = by_stat.find(stat);
      if (table == by_stat.end()) continue;  // an optional statistic the file does not hold at all
      const std::string name = entry_name(stat, q.name);
      const auto t = table->second.find(q.name);
      if (t == table->second.end())
        throw CheckpointError(file, name,
                              "absent: the statistics do not cover this model's linear " + q.name +
                                  " (lmdeploy keeps one per nn.Linear of a decoder layer: statistics of another "
                                  "model, or an incomplete calibration?)");
      std::vector<float>& v = statistic(s, stat);
      v = statistic_values(file, name, t->second, q);
      check_statistic_values(file, name, stat, v);
    }
    check_statistics_agree(file, s, [&q](const std::string& stat) { return entry_name(stat, q.name); });
    out.linears[q.name] = std::move(s);
  }
  return out;
}

void write_lmdeploy_inputs_stats(const std::filesystem::path& file, const CalibrationStats& stats,
                                 const std::vector<QuantizedLinear>& linears, DType dtype) {
  if (dtype != DType::f16 && dtype != DType::f32)
    throw std::invalid_argument(std::string("lmdeploy's statistics are float16 or float32, not ") + to_string(dtype));
  std::vector<checkpoint::TensorTable> tables;
  for (const std::string& stat : lmdeploy_order()) {
    checkpoint::TensorTable table{stat, {}};
    for (const QuantizedLinear& q : linears) {
      const auto s = stats.linears.find(q.name);
      if (s == stats.linears.end())
        throw std::invalid_argument("cannot write " + file.string() + ": no statistics for " + q.name);
      const std::vector<float>& v = statistic(s->second, stat);
      if (static_cast<int64_t>(v.size()) != q.in_features)
        throw std::invalid_argument("cannot write " + file.string() + ": " + q.name + "." + stat + " has " +
                                    std::to_string(v.size()) + " channels, in_features is " +
                                    std::to_string(q.in_features));
      at::Tensor t = at::empty({q.in_features}, at::kFloat);
      std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
      at::Tensor stored = t.to(checkpoint::to_scalar_type(dtype));
      // A float32 statistic beyond float16's 65504 would be stored as inf, which every reader refuses.
      const at::Tensor lost = stored.isinf().logical_and(t.isfinite()).nonzero();
      if (lost.numel() > 0)
        throw std::invalid_argument("cannot write " + file.string() + ": " + q.name + "." + stat + " channel " +
                                    std::to_string(lost[0][0].item<int64_t>()) + " = " +
                                    std::to_string(v[static_cast<std::size_t>(lost[0][0].item<int64_t>())]) +
                                    " overflows " + to_string(dtype));
      table.tensors.push_back({q.name, stored});
    }
    tables.push_back(std::move(table));
  }
  checkpoint::write_torch_tensor_tables(file, tables);
}

}  // namespace smoothcheck::pipeline
