#include "harness/differential/repro_writer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "harness/checkpoint/atomic_file.h"

namespace smoothcheck {

namespace fs = std::filesystem;

void write_file_atomically(const std::string& path, const std::string& contents) {
  AtomicFileWriter out(path);
  out.write(contents.data(), contents.size());
  out.commit();
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<double>& values) {
  // NPY format 1.0: magic, version, little-endian u16 header length, a Python dict literal padded with
  // spaces and a newline to a multiple of 64 bytes, then the raw little-endian data.
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string contents("\x93NUMPY\x01\x00", 8);
  contents.push_back(char(header.size() & 0xff));
  contents.push_back(char((header.size() >> 8) & 0xff));
  contents += header;
  contents.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  write_file_atomically(path, contents);
}

std::string write_repro(const std::string& repro_dir, const CaseReport& report) {
  std::string folder_name = report.family + "__" + report.case_name + "__" + report.backend;
  for (char& c : folder_name)
    if (c == '/') c = '_';
  fs::path folder = fs::path(repro_dir) / folder_name;
  fs::create_directories(folder);
  nlohmann::json j;
  j["schema"] = "smoothcheck.repro/1";
  j["family"] = report.family;
  j["case"] = report.case_name;
  j["backend"] = report.backend;
  j["outcome"] = to_string(report.result.outcome);
  j["failures"] = report.result.failures;
  j["notes"] = report.result.notes;
  j["metrics"] = report.result.metrics;
  j["rerun"] = "smoothcheck run --backend " + report.backend + " --filter '" + report.family + "/" + report.case_name + "'";
  nlohmann::json tensors = nlohmann::json::object();
  for (const NamedTensor& t : report.result.tensors) {
    std::string file = t.name + ".npy";
    write_npy((folder / file).string(), t.shape, t.values);
    tensors[t.name] = {{"file", file}, {"shape", t.shape}};
  }
  j["tensors"] = tensors;
  write_file_atomically((folder / "case.json").string(), j.dump(2) + "\n");
  return folder.string();
}

}  // namespace smoothcheck
