#include "cases/engine_profiles/known_answer_file.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace smoothcheck::known_answers {

namespace {

DType dtype_named(const std::string& s, const std::string& where) {
  if (s == "float32") return DType::f32;
  if (s == "float16") return DType::f16;
  if (s == "bfloat16") return DType::bf16;
  if (s == "int8") return DType::i8;
  if (s == "int32") return DType::i32;
  throw std::runtime_error(where + ": unknown dtype '" + s + "'");
}

KnownTensor tensor_of(const nlohmann::json& j, const std::string& where) {
  KnownTensor t;
  t.dtype = dtype_named(j.at("dtype").get<std::string>(), where);
  t.shape = j.at("shape").get<std::vector<int64_t>>();
  int64_t count = 1;
  for (int64_t e : t.shape) count *= e;
  const bool integer = t.dtype == DType::i8 || t.dtype == DType::i32;
  const nlohmann::json& data = j.at(integer ? "values" : "bits");
  if (static_cast<int64_t>(data.size()) != count)
    throw std::runtime_error(where + ": " + std::to_string(data.size()) + " elements for a shape of " +
                             std::to_string(count));
  const uint64_t bit_limit = t.dtype == DType::f32 ? (uint64_t(1) << 32) : (uint64_t(1) << 16);
  for (const nlohmann::json& e : data) {
    if (integer) {
      t.values.push_back(double(e.get<int64_t>()));
    } else {
      const uint64_t bits = e.get<uint64_t>();
      if (bits >= bit_limit) throw std::runtime_error(where + ": bit pattern " + std::to_string(bits) + " out of range");
      t.values.push_back(decode_bits(t.dtype, bits));
    }
  }
  return t;
}

std::map<std::string, KnownTensor> tensors_of(const nlohmann::json& j, const std::string& where) {
  std::map<std::string, KnownTensor> out;
  for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = tensor_of(it.value(), where + " " + it.key());
  return out;
}

}  // namespace

double decode_bits(DType dtype, uint64_t bits) {
  switch (dtype) {
    case DType::f32: {
      const uint32_t b = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b, sizeof f);
      return f;
    }
    case DType::bf16: {
      const uint32_t b = static_cast<uint32_t>(bits) << 16;
      float f;
      std::memcpy(&f, &b, sizeof f);
      return f;
    }
    case DType::f16: {
      const int sign = (bits >> 15) & 1, exponent = (bits >> 10) & 31, mantissa = bits & 1023;
      double v;
      if (exponent == 0) v = std::ldexp(double(mantissa), -24);
      else if (exponent == 31) v = mantissa ? std::nan("") : INFINITY;
      else v = std::ldexp(double(1024 + mantissa), exponent - 25);
      return sign ? -v : v;
    }
    default: throw std::logic_error("decode_bits: not a float dtype");
  }
}

int64_t KnownTensor::rows() const { return shape.size() >= 2 ? shape[shape.size() - 2] : 1; }
int64_t KnownTensor::cols() const { return shape.empty() ? 1 : shape.back(); }

HostTensor KnownTensor::host() const {
  HostTensor t(dtype, rows(), cols());
  t.from_doubles(values);
  return t;
}

const KnownTensor& KnownCase::input(const std::string& key) const {
  auto it = inputs.find(key);
  if (it == inputs.end()) throw std::runtime_error(file + " case " + name + " has no input " + key);
  return it->second;
}

const KnownTensor& KnownCase::output(const std::string& key) const {
  auto it = outputs.find(key);
  if (it == outputs.end()) throw std::runtime_error(file + " case " + name + " has no output " + key);
  return it->second;
}

std::vector<const KnownTensor*> KnownCase::numbered_inputs(const std::string& prefix) const {
  std::vector<const KnownTensor*> out;
  for (int i = 0; inputs.count(prefix + std::to_string(i)); ++i) out.push_back(&inputs.at(prefix + std::to_string(i)));
  return out;
}

KnownAnswerFile read_known_answer_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot be opened");
  const nlohmann::json j = nlohmann::json::parse(in);
  KnownAnswerFile f;
  f.file = path.filename().string();
  f.packages = j.at("packages");
  for (const nlohmann::json& c : j.at("cases")) {
    KnownCase k;
    k.file = f.file;
    k.name = c.at("name").get<std::string>();
    const std::string where = f.file + " case " + k.name;
    k.step = c.at("step").get<std::string>();
    k.upstream = c.at("upstream").get<std::string>();
    k.port = c.at("port").get<bool>();
    k.params = c.at("params");
    k.inputs = tensors_of(c.at("inputs"), where + " input");
    k.outputs = tensors_of(c.at("outputs"), where + " output");
    f.cases.push_back(std::move(k));
  }
  return f;
}

}  // namespace smoothcheck::known_answers
