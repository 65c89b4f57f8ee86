#include "harness/pipeline/calibration_stats.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/torch_archive_unpickle.h"
#include "harness/models/quantized_layout.h"
#include "harness/pipeline/lmdeploy_inputs_stats.h"

namespace smoothcheck::pipeline {

namespace {

using checkpoint::CheckpointError;

// Whether the file opens like a zip archive (torch.save's container): lmdeploy's inputs_stats.pth.
// A file too short to tell, or unreadable, goes to the safetensors reader, whose errors say why.
bool opens_as_zip_archive(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint8_t head[4] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  return in.gcount() == static_cast<std::streamsize>(sizeof head) && checkpoint::starts_like_zip_archive(head, sizeof head);
}

}  // namespace

const std::vector<std::string>& stat_names() {
  static const std::vector<std::string> names = {"absmax", "min", "max", "mean", "absmean"};
  return names;
}

const std::vector<float>& statistic(const LinearStats& s, const std::string& stat) {
  if (stat == "absmax") return s.absmax;
  if (stat == "min") return s.min;
  if (stat == "max") return s.max;
  if (stat == "mean") return s.mean;
  if (stat == "absmean") return s.absmean;
  throw std::invalid_argument("no calibration statistic is called '" + stat + "'");
}
std::vector<float>& statistic(LinearStats& s, const std::string& stat) {
  return const_cast<std::vector<float>&>(statistic(static_cast<const LinearStats&>(s), stat));
}

StatsFormat parse_stats_format(const std::string& s) {
  if (s == "smoothcheck") return StatsFormat::smoothcheck;
  if (s == "lmdeploy") return StatsFormat::lmdeploy;
  throw std::invalid_argument("unknown statistics format '" + s + "' (smoothcheck or lmdeploy)");
}

void check_statistic_values(const std::filesystem::path& file, const std::string& tensor, const std::string& stat,
                            const std::vector<float>& v) {
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (!std::isfinite(v[j]))
      throw CheckpointError(file, tensor, "channel " + std::to_string(j) + " is not finite (" + std::to_string(v[j]) + ")");
    if ((stat == "absmax" || stat == "absmean") && v[j] < 0)
      throw CheckpointError(file, tensor, "channel " + std::to_string(j) + " is negative (" + std::to_string(v[j]) + ")");
  }
}

void check_statistics_agree(const std::filesystem::path& file, const LinearStats& s,
                            const std::function<std::string(const std::string& stat)>& tensor_of) {
  for (std::size_t j = 0; j < s.min.size(); ++j) {
    if (s.min[j] > s.max[j])
      throw CheckpointError(file, tensor_of("min"),
                            "channel " + std::to_string(j) + ": min " + std::to_string(s.min[j]) + " > max " +
                                std::to_string(s.max[j]));
    if (s.absmax[j] < std::max(std::fabs(s.min[j]), std::fabs(s.max[j])))
      throw CheckpointError(file, tensor_of("absmax"),
                            "channel " + std::to_string(j) + ": absmax " + std::to_string(s.absmax[j]) +
                                " is below max(|min|, |max|) = " +
                                std::to_string(std::max(std::fabs(s.min[j]), std::fabs(s.max[j]))));
  }
}

void write_calibration_stats(const std::filesystem::path& file, const CalibrationStats& stats) {
  checkpoint::NamedTensors tensors;
  for (const auto& [linear, s] : stats.linears)
    for (const std::string& stat : stat_names()) {
      const std::vector<float>& v = statistic(s, stat);
      if (v.size() != s.absmax.size())
        throw std::invalid_argument("cannot write " + file.string() + ": " + linear + "." + stat + " has " +
                                    std::to_string(v.size()) + " channels, absmax " + std::to_string(s.absmax.size()));
      at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::kFloat);
      std::memcpy(t.data_ptr<float>(), v.data(), v.size() * sizeof(float));
      tensors.push_back({linear + "." + stat, t});
    }
  std::map<std::string, std::string> metadata = stats.metadata;
  metadata["format"] = kStatsFormat;
  checkpoint::write_safetensors(file, tensors, metadata);
}

CalibrationStats read_calibration_stats(const std::filesystem::path& file, const std::vector<QuantizedLinear>& linears) {
  if (opens_as_zip_archive(file)) return read_lmdeploy_inputs_stats(file, linears);
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
      std::vector<float>& v = statistic(s, stat);
      v.resize(static_cast<std::size_t>(q.in_features));
      st.copy_to(name, v.data());
      check_statistic_values(file, name, stat, v);
    }
    check_statistics_agree(file, s, [&q](const std::string& stat) { return q.name + "." + stat; });
    out.linears[q.name] = std::move(s);
  }
  return out;
}

}  // namespace smoothcheck::pipeline
