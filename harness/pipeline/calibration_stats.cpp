#include "harness/pipeline/calibration_stats.h"

#include <cmath>
#include <cstring>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

namespace {

using checkpoint::CheckpointError;

const std::vector<float>& member(const LinearStats& s, const std::string& stat) {
  if (stat == "absmax") return s.absmax;
  if (stat == "min") return s.min;
  if (stat == "max") return s.max;
  if (stat == "mean") return s.mean;
  return s.absmean;
}
std::vector<float>& member(LinearStats& s, const std::string& stat) {
  return const_cast<std::vector<float>&>(member(static_cast<const LinearStats&>(s), stat));
}

}  // namespace

const std::vector<std::string>& stat_names() {
  static const std::vector<std::string> names = {"absmax", "min", "max", "mean", "absmean"};
  return names;
}

void write_calibration_stats(const std::filesystem::path& file, const CalibrationStats& stats) {
  checkpoint::NamedTensors tensors;
  for (const auto& [linear, s] : stats.linears)
    for (const std::string& stat : stat_names()) {
      const std::vector<float>& v = member(s, stat);
      at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kFloat);
      std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
      tensors.push_back({linear + "." + stat, t});
    }
  std::map<std::string, std::string> metadata = stats.metadata;
  metadata["format"] = kStatsFormat;
  checkpoint::write_safetensors(file, tensors, metadata);
}

CalibrationStats read_calibration_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears) {
  const checkpoint::SafetensorsFile st(file);  // validates the header: a truncated file fails here
  CalibrationStats out;
  out.metadata = st.metadata();
  // "pt" is what torch-side safetensors writers stamp on any file: a statistics file edited in Python
  // carries it. Anything else names a different kind of file.
  if (auto f = out.metadata.find("format"); f != out.metadata.end() && f->second != kStatsFormat && f->second != "pt")
    throw CheckpointError(file, "metadata format is '" + f->second + "', not " + kStatsFormat +
                                    ": not a calibration statistics file");
  for (const QuantizedLinear& q : linears) {
    LinearStats s;
    for (const std::string& stat : stat_names()) {
      const std::string name = q.name + "." + stat;
      const checkpoint::SafetensorsEntry* e = st.find(name);
      if (!e)
        throw CheckpointError(file, name,
                              "absent: the statistics do not cover this model's linear " + q.name +
                                  " (statistics of another model, or an incomplete calibration?)");
      if (e->info.dtype != DType::f32)
        throw CheckpointError(file, name, std::string("has dtype ") + to_string(e->info.dtype) + ", expected f32");
      if (e->info.shape != std::vector<int64_t>{q.in_features})
        throw CheckpointError(file, name,
                              "has shape " + checkpoint::shape_string(e->info.shape) + " but " + q.name +
                                  " of this model has in_features " + std::to_string(q.in_features) +
                                  ": statistics of another model?");
      std::vector<float>& v = member(s, stat);
      v.resize(static_cast<std::size_t>(q.in_features));
      st.copy_to(name, v.data());
      for (std::size_t j = 0; j < v.size(); ++j) {
        if (!std::isfinite(v[j]))
          throw CheckpointError(file, name, "channel " + std::to_string(j) + " is not finite (" + std::to_string(v[j]) + ")");
        if ((stat == "absmax" || stat == "absmean") && v[j] < 0)
          throw CheckpointError(file, name, "channel " + std::to_string(j) + " is negative (" + std::to_string(v[j]) + ")");
      }
    }
    for (std::size_t j = 0; j < s.min.size(); ++j) {
      if (s.min[j] > s.max[j])
        throw CheckpointError(file, q.name + ".min",
                              "channel " + std::to_string(j) + ": min " + std::to_string(s.min[j]) + " > max " +
                                  std::to_string(s.max[j]));
      if (s.absmax[j] < std::max(std::fabs(s.min[j]), std::fabs(s.max[j])))
        throw CheckpointError(file, q.name + ".absmax",
                              "channel " + std::to_string(j) + ": absmax " + std::to_string(s.absmax[j]) +
                                  " is below max(|min|, |max|) = " +
                                  std::to_string(std::max(std::fabs(s.min[j]), std::fabs(s.max[j]))));
    }
    out.linears[q.name] = std::move(s);
  }
  return out;
}

}  // namespace smoothcheck::pipeline
