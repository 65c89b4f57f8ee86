// lmdeploy's calibration statistics file, inputs_stats.pth (harness/pipeline/lmdeploy_inputs_stats.h):
// smoothcheck's file read back as the statistics rounded to its dtype, the format told by content, the
// files lmdeploy itself wrote (cases/upstream_known_answers/stories260K/lmdeploy_inputs_stats_*.pth,
// scripts/upstream_known_answers/lmdeploy_inputs_stats.py) read to the value, every refusal naming the
// file, "<statistic>[<module>]" and the problem, and `calibrate --stats-format lmdeploy` feeding
// `quantize` and `verify` as the safetensors statistics rounded the same way do.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/jit/serialization/pickle.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/pipeline/calibration_stats.h"
#include "harness/pipeline/lmdeploy_inputs_stats.h"
#include "harness/pipeline/model_family.h"
#include "harness/pipeline/quantize_export.h"
#include "pipeline_test_support.h"

namespace smoothcheck::pipeline {
namespace {

namespace fs = std::filesystem;
using checkpoint::CheckpointError;
using checkpoint::TensorTable;

const std::vector<QuantizedLinear> kLinears = {{"model.layers.0.self_attn.q_proj", 4, 4, false},
                                               {"model.layers.0.mlp.down_proj", 6, 4, false}};
const std::string kQ = "model.layers.0.self_attn.q_proj";
const std::string kDown = "model.layers.0.mlp.down_proj";

// Consistent statistics, few of them float16 values (1e-4 steps), so that rounding shows.
CalibrationStats sample_stats() {
  CalibrationStats stats;
  for (const QuantizedLinear& q : kLinears) {
    LinearStats s;
    for (int64_t j = 0; j < q.in_features; ++j) {
      const float lo = -0.3001f - 0.0137f * j, hi = 0.5003f + 0.2311f * j * (j % 2 ? 1 : -1);
      s.min.push_back(std::min(lo, hi));
      s.max.push_back(std::max(lo, hi));
      s.absmax.push_back(std::max(std::fabs(lo), std::fabs(hi)));
      s.mean.push_back(0.0101f * j - 0.02f);
      s.absmean.push_back(0.1234f + 0.001f * j);
    }
    stats.linears[q.name] = s;
  }
  return stats;
}

float rounded(float v, DType t) {
  return t == DType::f32 ? v : at::scalar_tensor(v).to(at::kHalf).to(at::kFloat).item<float>();
}

// The statistics as lmdeploy's tables, float32, for the refusal rows to edit.
std::vector<TensorTable> tables_of(const CalibrationStats& stats) {
  std::vector<TensorTable> tables;
  for (const std::string stat : {"max", "min", "mean", "absmax", "absmean"}) {
    TensorTable t{stat, {}};
    for (const QuantizedLinear& q : kLinears) {
      const std::vector<float>& v = statistic(stats.linears.at(q.name), stat);
      t.tensors.push_back({q.name, at::tensor(at::ArrayRef<float>(v))});
    }
    tables.push_back(std::move(t));
  }
  return tables;
}

TensorTable& table(std::vector<TensorTable>& tables, const std::string& key) {
  for (TensorTable& t : tables)
    if (t.key == key) return t;
  throw std::logic_error("no table " + key);
}
at::Tensor& entry(std::vector<TensorTable>& tables, const std::string& key, const std::string& module) {
  for (auto& nt : table(tables, key).tensors)
    if (nt.name == module) return nt.tensor;
  throw std::logic_error("no entry " + key + "[" + module + "]");
}
void drop(std::vector<TensorTable>& tables, const std::string& key) {
  tables.erase(std::find_if(tables.begin(), tables.end(), [&](const TensorTable& t) { return t.key == key; }));
}

TEST(LmdeployInputsStats, ReadBackIsTheStatisticsRoundedToTheDtype) {
  for (const DType dtype : {DType::f16, DType::f32}) {
    SCOPED_TRACE(to_string(dtype));
    testing::ScratchDir dir;
    const fs::path file = dir / "inputs_stats.pth";
    const CalibrationStats stats = sample_stats();
    write_lmdeploy_inputs_stats(file, stats, kLinears, dtype);
    EXPECT_TRUE(testing::hidden_files(dir.path()).empty()) << "a temporary file of the atomic write was left";
    const CalibrationStats back = read_calibration_stats(file, kLinears);
    EXPECT_EQ(back.metadata.at("format"), "lmdeploy inputs_stats.pth");
    EXPECT_EQ(back.metadata.at("statistics"), "max, min, mean, absmax, absmean");
    EXPECT_EQ(back.metadata.at("ignored"), "");
    int changed = 0;
    for (const QuantizedLinear& q : kLinears)
      for (const std::string& stat : stat_names()) {
        const std::vector<float>& want = statistic(stats.linears.at(q.name), stat);
        const std::vector<float>& got = statistic(back.linears.at(q.name), stat);
        ASSERT_EQ(got.size(), want.size()) << q.name << "." << stat;
        for (std::size_t j = 0; j < want.size(); ++j) {
          EXPECT_EQ(got[j], rounded(want[j], dtype)) << q.name << "." << stat << "[" << j << "]";
          changed += got[j] != want[j];
        }
      }
    if (dtype == DType::f16) {
      EXPECT_GT(changed, 40) << "the sample statistics should mostly not be float16 values";
    }
  }
}

TEST(LmdeployInputsStats, WrittenInLmdeploysKeyOrderAndTheModelsModuleOrder) {
  testing::ScratchDir dir;
  const fs::path file = dir / "inputs_stats.pth";
  write_lmdeploy_inputs_stats(file, sample_stats(), kLinears, DType::f16);
  const auto tables = checkpoint::read_torch_tensor_tables(file, {"max", "min", "mean", "absmax", "absmean"});
  EXPECT_TRUE(tables.other_keys.empty());
  std::vector<std::string> keys;
  for (const auto& t : tables.tables) {
    keys.push_back(t.key);
    ASSERT_EQ(t.tensors.size(), 2u);
    EXPECT_EQ(t.tensors[0].name, kQ);  // kLinears' order, not the map's (down_proj < self_attn)
    EXPECT_EQ(t.tensors[1].name, kDown);
    for (const auto& nt : t.tensors) EXPECT_EQ(nt.tensor.scalar_type(), at::kHalf) << t.key << "[" << nt.name << "]";
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"max", "min", "mean", "absmax", "absmean"}));
}

TEST(LmdeployInputsStats, FormatIsToldByContentNotByName) {
  testing::ScratchDir dir;
  const fs::path pth_named_safetensors = dir / "stats.safetensors";
  write_lmdeploy_inputs_stats(pth_named_safetensors, sample_stats(), kLinears, DType::f32);
  EXPECT_EQ(read_calibration_stats(pth_named_safetensors, kLinears).metadata.at("format"), "lmdeploy inputs_stats.pth");
  const fs::path safetensors_named_pth = dir / "inputs_stats.pth";
  write_calibration_stats(safetensors_named_pth, sample_stats());
  EXPECT_EQ(read_calibration_stats(safetensors_named_pth, kLinears).metadata.at("format"), kStatsFormat);
}

TEST(LmdeployInputsStats, MeanAndAbsmeanAreOptionalAbsmaxMinMaxAreNot) {
  testing::ScratchDir dir;
  const fs::path file = dir / "inputs_stats.pth";
  auto tables = tables_of(sample_stats());
  drop(tables, "mean");
  drop(tables, "absmean");
  checkpoint::write_torch_tensor_tables(file, tables);
  const CalibrationStats back = read_calibration_stats(file, kLinears);
  EXPECT_EQ(back.metadata.at("statistics"), "max, min, absmax");
  EXPECT_TRUE(back.linears.at(kQ).mean.empty());
  EXPECT_TRUE(back.linears.at(kQ).absmean.empty());
  EXPECT_EQ(back.linears.at(kQ).absmax, sample_stats().linears.at(kQ).absmax);
  // Such statistics cannot be written as smoothcheck's file, which always holds all five.
  EXPECT_THROW(write_calibration_stats(dir / "all-five.safetensors", back), std::invalid_argument);
}

TEST(LmdeployInputsStats, OtherKeysAreIgnoredAndNamed) {
  testing::ScratchDir dir;
  const fs::path file = dir / "inputs_stats.pth";
  auto tables = tables_of(sample_stats());
  tables.push_back({"ratios", {{kQ, at::ones({1})}}});  // lmdeploy's holds floats; anything is ignored
  checkpoint::write_torch_tensor_tables(file, tables);
  const CalibrationStats back = read_calibration_stats(file, kLinears);
  EXPECT_EQ(back.metadata.at("ignored"), "ratios");
}

TEST(LmdeployInputsStats, WriterRefusesWhatItCannotStore) {
  testing::ScratchDir dir;
  const fs::path file = dir / "inputs_stats.pth";
  EXPECT_THROW(write_lmdeploy_inputs_stats(file, sample_stats(), kLinears, DType::bf16), std::invalid_argument);
  CalibrationStats big = sample_stats();
  big.linears.at(kDown).absmax[3] = 7e4f;  // beyond float16's 65504
  try {
    write_lmdeploy_inputs_stats(file, big, kLinears, DType::f16);
    FAIL() << "wrote an absmax float16 cannot hold";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(kDown + ".absmax channel 3 = 70000"), std::string::npos) << e.what();
  }
  CalibrationStats missing = sample_stats();
  missing.linears.erase(kDown);
  EXPECT_THROW(write_lmdeploy_inputs_stats(file, missing, kLinears, DType::f16), std::invalid_argument);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty());
}

// A file the reader must refuse: how it is made, and what the refusal names.
struct Refusal {
  std::string name;
  std::function<void(const fs::path&)> make;
  std::string tensor;   // CheckpointError::tensor(), empty for a problem of the whole file
  std::string problem;  // a part of the message
};
void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

// Rows whose file is lmdeploy's tables with one edit.
Refusal edited(std::string name, std::function<void(std::vector<TensorTable>&)> edit, std::string tensor, std::string problem) {
  return {std::move(name),
          [edit](const fs::path& file) {
            auto tables = tables_of(sample_stats());
            edit(tables);
            checkpoint::write_torch_tensor_tables(file, tables);
          },
          std::move(tensor), std::move(problem)};
}
void write_pickle_save(const fs::path& file, const c10::IValue& v) {
  const auto bytes = torch::jit::pickle_save(v);
  testing::write_bytes(file, std::string(bytes.begin(), bytes.end()));
}

std::vector<Refusal> refusals() {
  return {
      edited("missing_linear", [](auto& t) { auto& v = table(t, "absmax").tensors; v.erase(v.begin() + 1); },
             "absmax[" + kDown + "]", "absent: the statistics do not cover this model's linear " + kDown),
      edited("missing_linear_of_an_optional_statistic",
             [](auto& t) { auto& v = table(t, "absmean").tensors; v.erase(v.begin()); }, "absmean[" + kQ + "]",
             "absent"),
      edited("wrong_shape", [](auto& t) { entry(t, "min", kQ) = at::zeros({5}); }, "min[" + kQ + "]",
             "has shape [5] but " + kQ + " of this model has in_features 4"),
      edited("two_dimensional", [](auto& t) { entry(t, "max", kQ) = at::ones({1, 4}); }, "max[" + kQ + "]",
             "has shape [1, 4]"),
      edited("nan", [](auto& t) { entry(t, "max", kDown)[2] = std::numeric_limits<float>::quiet_NaN(); }, "max[" + kDown + "]", "channel 2 is not finite"),
      edited("infinite_as_never_observed", [](auto& t) { entry(t, "min", kDown)[0] = INFINITY; },
             "min[" + kDown + "]", "channel 0 is not finite"),
      edited("min_above_max", [](auto& t) { entry(t, "min", kQ)[1] = entry(t, "max", kQ)[1] + 1; }, "min[" + kQ + "]",
             "channel 1: min"),
      edited("negative_absmax", [](auto& t) { entry(t, "absmax", kQ)[0] = -1; }, "absmax[" + kQ + "]",
             "channel 0 is negative"),
      edited("absmax_below_max", [](auto& t) { entry(t, "absmax", kDown)[4] = 0.01f; }, "absmax[" + kDown + "]",
             "channel 4: absmax 0.010000 is below max(|min|, |max|)"),
      edited("integer_dtype", [](auto& t) { entry(t, "absmax", kQ) = at::ones({4}, at::kInt); }, "absmax[" + kQ + "]",
             "has dtype Int, expected float16, bfloat16 or float32"),
      edited("no_absmax_statistic", [](auto& t) { drop(t, "absmax"); }, "",
             "holds no 'absmax' statistics (its keys: max, min, mean, absmean)"),
      {"top_level_list",
       [](const fs::path& f) { write_pickle_save(f, c10::List<at::Tensor>({at::ones({4})})); }, "",
       "the saved object is a GenericList, not a dict of dicts"},
      {"flat_dict_of_tensors", [](const fs::path& f) { checkpoint::write_torch_bin(f, {{"absmax", at::ones({4})}}); },
       "absmax", "is a Tensor, not a dict {name: tensor}"},
      {"non_tensor_value",
       [](const fs::path& f) {
         c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
         c10::impl::GenericDict absmax(c10::StringType::get(), c10::AnyType::get());
         absmax.insert(kQ, 0.5);
         root.insert("absmax", absmax);
         write_pickle_save(f, root);
       },
       "absmax[" + kQ + "]", "is a Double, not a tensor"},
      {"truncated_archive",
       [](const fs::path& f) {
         write_lmdeploy_inputs_stats(f, sample_stats(), kLinears, DType::f16);
         fs::resize_file(f, fs::file_size(f) / 2);
       },
       "", "LibTorch cannot unpickle this torch.save archive"},
  };
}

class LmdeployInputsStatsRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(LmdeployInputsStatsRefusal, NamesTheFileTheEntryAndTheProblem) {
  testing::ScratchDir dir;
  const fs::path file = dir / "inputs_stats.pth";
  GetParam().make(file);
  const auto before = testing::fingerprint(file);
  try {
    read_calibration_stats(file, kLinears);
    FAIL() << "accepted";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_EQ(e.tensor(), GetParam().tensor) << e.what();
    EXPECT_NE(std::string(e.what()).find(GetParam().problem), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::fingerprint(file), before) << "the reader changed its input";
}

INSTANTIATE_TEST_SUITE_P(Rows, LmdeployInputsStatsRefusal, ::testing::ValuesIn(refusals()),
                         [](const auto& info) { return info.param.name; });

// The files lmdeploy 0.18.0 wrote for stories260K: every statistic of every linear read, to the value.
class LmdeployWrittenFile : public ::testing::TestWithParam<std::string> {};

TEST_P(LmdeployWrittenFile, ReadsEveryStatisticToTheValue) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path known = fs::path(SMOOTHCHECK_SOURCE_DIR) / "cases/upstream_known_answers/stories260K";
  const nlohmann::json record =
      nlohmann::json::parse(std::ifstream(known / "lmdeploy_inputs_stats.json")).at("files").at(GetParam());
  const auto linears = open_model_family(testing::stories_layout(shared, "hf"))->linears();
  std::vector<std::string> names;
  for (const QuantizedLinear& q : linears) names.push_back(q.name);
  EXPECT_EQ(record.at("module_names").get<std::vector<std::string>>(), names)
      << "lmdeploy's module names are smoothcheck's linear names, in forward order";

  const CalibrationStats stats = read_calibration_stats(known / GetParam(), linears);
  EXPECT_EQ(stats.metadata.at("statistics"), "max, min, mean, absmax, absmean");
  EXPECT_EQ(stats.metadata.at("ignored"), record.at("keys").size() == 6 ? "ratios" : "");
  for (const QuantizedLinear& q : linears)
    for (const std::string& stat : stat_names()) {
      double sum = 0;  // in channel order, as the generator summed
      for (const float v : statistic(stats.linears.at(q.name), stat)) sum += v;
      EXPECT_EQ(sum, record.at("channel_sums").at(stat).at(q.name).get<double>()) << stat << "[" << q.name << "]";
    }
}

INSTANTIATE_TEST_SUITE_P(Stories260K, LmdeployWrittenFile,
                         ::testing::Values("lmdeploy_inputs_stats_f16.pth", "lmdeploy_inputs_stats_search_f32.pth"),
                         [](const auto& info) {
                           return info.param.find("f16") != std::string::npos ? std::string("f16") : std::string("search_f32");
                         });

// `smoothcheck ARGS`, stderr into `err`; the exit status.
int run_smoothcheck(const std::string& args, const fs::path& err) {
  const std::string cmd = std::string("'") + SMOOTHCHECK_EXE + "' " + args + " 2>'" + err.string() + "' >/dev/null";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The files in which two exports differ: every file compared byte for byte, config.json aside, whose
// quantization_config records the statistics file's path (which differs) and must otherwise be equal.
std::vector<std::string> export_differences(const fs::path& a, const fs::path& b) {
  std::vector<std::string> differ;
  for (const auto& e : fs::directory_iterator(b))
    if (!fs::exists(a / e.path().filename())) differ.push_back(e.path().filename().string() + " (only in " + b.string() + ")");
  for (const auto& e : fs::directory_iterator(a)) {
    const std::string f = e.path().filename().string();
    if (f == "config.json") {
      auto ca = nlohmann::json::parse(bytes_of(a / f)), cb = nlohmann::json::parse(bytes_of(b / f));
      ca["quantization_config"].erase("calibration_stats");
      cb["quantization_config"].erase("calibration_stats");
      if (ca != cb) differ.push_back(f);
    } else if (!fs::exists(b / f) || bytes_of(a / f) != bytes_of(b / f)) {
      differ.push_back(f);
    }
  }
  return differ;
}

void expect_same_export(const fs::path& a, const fs::path& b) {
  const auto differ = export_differences(a, b);
  EXPECT_TRUE(differ.empty()) << a << " and " << b << " differ in " << ::testing::PrintToString(differ);
}

struct CliModel {
  const char* layout;
  DType stats_dtype;  // what --stats-format lmdeploy writes for it
};
void PrintTo(const CliModel& m, std::ostream* os) { *os << m.layout; }

class LmdeployStatsCommand : public ::testing::TestWithParam<CliModel> {};

// lmdeploy's file holds the statistics in the model's dtype when that is float16 (float32 otherwise), so
// an export made from it equals one made from smoothcheck's statistics rounded the same way, whatever
// the smoothing arithmetic. For a float16 model and lmdeploy's own recipe it also equals the export from
// the unrounded statistics: that recipe casts absmax to the model's dtype before using it. With the
// smoothing kept in float32 the rounding shows: that export differs from the unrounded statistics' one.
TEST_P(LmdeployStatsCommand, CalibrateThenQuantizeEqualsTheSafetensorsStatisticsRounded) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const fs::path model = testing::stories_layout(shared, GetParam().layout);
  const DType dtype = GetParam().stats_dtype;
  testing::ScratchDir dir;
  const fs::path err = dir / "err.txt";
  const std::string calibrate = "calibrate '" + model.string() + "' --samples 2 --seq-len 16 --seed 3 --out ";
  ASSERT_EQ(run_smoothcheck(calibrate + "'" + (dir / "stats.safetensors").string() + "'", err), 0) << bytes_of(err);
  ASSERT_EQ(run_smoothcheck(calibrate + "'" + (dir / "inputs_stats.pth").string() + "' --stats-format lmdeploy", err), 0)
      << bytes_of(err);

  const auto linears = open_model_family(model)->linears();
  const CalibrationStats exact = read_calibration_stats(dir / "stats.safetensors", linears);
  const CalibrationStats lmdeploy = read_calibration_stats(dir / "inputs_stats.pth", linears);
  CalibrationStats rounded_stats = exact;
  for (auto& [name, s] : rounded_stats.linears)
    for (const std::string& stat : stat_names())
      for (float& v : statistic(s, stat)) v = rounded(v, dtype);
  for (const QuantizedLinear& q : linears)
    for (const std::string& stat : stat_names())
      ASSERT_EQ(statistic(lmdeploy.linears.at(q.name), stat), statistic(rounded_stats.linears.at(q.name), stat))
          << stat << "[" << q.name << "]";
  write_calibration_stats(dir / "rounded.safetensors", rounded_stats);

  // The exports in process (quantize's own path, as the command calls it): the command line under test
  // here is calibrate's --stats-format and verify's --stats, run as commands above and below.
  const auto quantize = [&](const std::string& stats, const std::string& out, SmoothingArithmetic arithmetic) {
    QuantizeOptions q = options_for_engine(Engine::lmdeploy);
    q.model = model;
    q.stats = dir / stats;
    q.out = dir / out;
    q.smoothing_arithmetic = arithmetic;
    q.force = true;
    quantize_and_export(testing::cpu_backend(), q);
  };
  for (const SmoothingArithmetic arithmetic : {SmoothingArithmetic::model_dtype, SmoothingArithmetic::float32}) {
    SCOPED_TRACE(to_string(arithmetic));
    quantize("inputs_stats.pth", "from-lmdeploy", arithmetic);
    quantize("rounded.safetensors", "from-rounded", arithmetic);
    expect_same_export(dir / "from-lmdeploy", dir / "from-rounded");
    if (dtype == DType::f16) {
      quantize("stats.safetensors", "from-exact", arithmetic);
      if (arithmetic == SmoothingArithmetic::model_dtype) {
        expect_same_export(dir / "from-lmdeploy", dir / "from-exact");
      } else {
        EXPECT_FALSE(export_differences(dir / "from-lmdeploy", dir / "from-exact").empty())
            << "float16 statistics made no difference to a float32 smoothing";
      }
    }
  }
  // verify's re-derivation reads the same file.
  EXPECT_EQ(run_smoothcheck("verify '" + model.string() + "' '" + (dir / "from-lmdeploy").string() + "' --stats '" +
                            (dir / "inputs_stats.pth").string() + "' --no-forward",
                        err),
            0)
      << bytes_of(err);
}

INSTANTIATE_TEST_SUITE_P(Stories260K, LmdeployStatsCommand,
                         ::testing::Values(CliModel{"hf", DType::f32}, CliModel{"hf-sharded-bin", DType::f16}),
                         [](const auto& info) {
                           return std::string(info.param.stats_dtype == DType::f16 ? "float16_model" : "float32_model");
                         });

}  // namespace
}  // namespace smoothcheck::pipeline
