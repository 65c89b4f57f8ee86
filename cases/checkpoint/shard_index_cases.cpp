// Shard indexes: shard names must stay inside the model directory, every named shard must exist and
// hold its tensors; symlinked shards are fine.
#include <ATen/ATen.h>
#include <ostream>

#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/shard_index.h"

namespace smoothcheck::checkpoint {
namespace {

struct IndexCase {
  std::string name;
  std::string index_json;
  std::string problem;
};

// gtest prints a row by its name rather than as raw bytes.
void PrintTo(const IndexCase& c, std::ostream* os) { *os << c.name; }

std::vector<IndexCase> index_cases() {
  return {
      {"dotdot_shard", R"({"weight_map":{"a":"../outside.safetensors"}})", "contains '..'"},
      {"dotdot_alone", R"({"weight_map":{"a":".."}})", "contains '..'"},
      {"absolute_shard", R"({"weight_map":{"a":"/etc/passwd"}})", "is an absolute path"},
      {"subdirectory_shard", R"({"weight_map":{"a":"sub/model.safetensors"}})", "directory separator"},
      {"missing_shard", R"({"weight_map":{"a":"nowhere.safetensors"}})", "is not a file in"},
      {"weight_map_not_object", R"({"weight_map":["a"]})", "weight_map is an array"},
      {"no_weight_map", R"({"metadata":{"total_size":4}})", "lacks 'weight_map'"},
      {"bad_total_size", R"({"metadata":{"total_size":"big"},"weight_map":{"a":"s.safetensors"}})",
       "total_size is \"big\""},
      {"tensor_not_in_shard", R"({"weight_map":{"zzz":"s.safetensors"}})", "which lacks the tensor"},
      {"bad_json", R"({"weight_map":)", "not valid JSON"},
  };
}

class ShardIndexMalformed : public ::testing::TestWithParam<IndexCase> {};

TEST_P(ShardIndexMalformed, ThrowsNamingIndexAndProblem) {
  const IndexCase& c = GetParam();
  testing::ScratchDir dir;
  write_safetensors(dir / "s.safetensors", {{"a", at::ones({1})}});
  const auto index = dir / "model.safetensors.index.json";
  testing::write_bytes(index, c.index_json);
  const auto before = testing::fingerprint(dir.path());
  try {
    open_checkpoint(index);
    FAIL() << c.name << ": opened without error";
  } catch (const CheckpointError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(index.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << "expected '" << c.problem << "' in: " << msg;
  }
  EXPECT_TRUE(testing::fingerprint(dir.path()) == before) << "the reader modified its input";
}

INSTANTIATE_TEST_SUITE_P(Rows, ShardIndexMalformed, ::testing::ValuesIn(index_cases()),
                         [](const ::testing::TestParamInfo<IndexCase>& info) { return info.param.name; });

TEST(ShardIndex, SymlinkedShardIsAccepted) {
  testing::ScratchDir blobs, model;
  write_safetensors(blobs / "blob", {{"a", at::arange(3, at::kFloat)}});
  std::filesystem::create_symlink(blobs / "blob", model / "model-00001-of-00001.safetensors");
  testing::write_bytes(model / "model.safetensors.index.json",
                       R"({"metadata":{"total_size":12},"weight_map":{"a":"model-00001-of-00001.safetensors"}})");
  const auto ckpt = open_checkpoint(model.path());
  EXPECT_TRUE(ckpt->tensor("a").equal(at::arange(3, at::kFloat)));
  EXPECT_EQ(ckpt->declared_total_size(), 12u);
}

TEST(ShardIndex, PlanKeepsOrderAndLimit) {
  const auto plan = plan_shards({10, 10, 30, 5, 5, 1}, 20);
  const std::vector<std::vector<std::size_t>> expected = {{0, 1}, {2}, {3, 4, 5}};
  EXPECT_EQ(plan, expected);
  EXPECT_EQ(shard_file_name("pytorch_model", ".bin", 2, 3), "pytorch_model-00002-of-00003.bin");
}

TEST(ShardIndex, WriterRefusesUnsafeShardNames) {
  testing::ScratchDir dir;
  ShardIndex index;
  index.weight_map["a"] = "../x.safetensors";
  EXPECT_THROW(write_shard_index(dir / "i.json", index), CheckpointError);
}

}  // namespace
}  // namespace smoothcheck::checkpoint
