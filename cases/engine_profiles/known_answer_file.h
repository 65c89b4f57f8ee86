// The known answers that upstream's own code produced (cases/upstream_known_answers/*.json, written by
// scripts/upstream_known_answers/generate.py): one case per call of an upstream function, its inputs
// and outputs as raw bit patterns, so that a comparison can be bit for bit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/differential/host_tensor.h"
#include "kernels/options.h"

namespace smoothcheck::known_answers {

struct KnownTensor {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<double> values;  // every element, exactly (floats decoded from their bits)
  int64_t rows() const;        // shape [R, C] -> R; [C] -> 1
  int64_t cols() const;        // the last extent
  HostTensor host() const;     // a HostTensor of dtype holding exactly these values
};

struct KnownCase {
  std::string file;  // "lmdeploy.json"
  std::string name;
  std::string step;
  std::string upstream;
  bool port = false;
  nlohmann::json params;
  std::map<std::string, KnownTensor> inputs, outputs;
  const KnownTensor& input(const std::string& key) const;    // throws naming the case and key
  const KnownTensor& output(const std::string& key) const;
  // fc0, fc1, ... in order.
  std::vector<const KnownTensor*> numbered_inputs(const std::string& prefix) const;
};

struct KnownAnswerFile {
  std::string file;
  nlohmann::json packages;  // the versions that produced it
  std::vector<KnownCase> cases;
};

// Reads and checks one file (throws std::runtime_error naming the file, case and tensor on a schema
// problem: a dtype it does not know, a shape whose product is not the element count, bits out of range).
KnownAnswerFile read_known_answer_file(const std::filesystem::path& path);

// The float value of a bit pattern of dtype (f32: 32 bits, f16/bf16: 16 bits), exactly.
double decode_bits(DType dtype, uint64_t bits);

}  // namespace smoothcheck::known_answers
