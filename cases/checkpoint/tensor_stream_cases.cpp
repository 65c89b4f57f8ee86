// The streaming writers (tensor_stream.h): a streamed export is byte-identical to the all-at-once
// writers' files for both formats, reads back, and every way of feeding a stream wrongly (out of
// order, wrong size, too many, too few, a file left incomplete) is refused with the file and tensor
// named and leaves no file behind.
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/safetensors_stream_writer.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {
namespace {

namespace fs = std::filesystem;

NamedTensors stream_sample_tensors() {
  at::manual_seed(11);
  return {{"a.f16", at::randn({64, 8}).to(at::kHalf)},
          {"b.i8", at::randint(-128, 128, {32, 16}).to(at::kChar)},
          {"c.f32", at::randn({40})},
          {"d.empty", at::empty({0, 4})},
          {"e.f32", at::randn({3, 3})}};
}

std::vector<PlannedTensor> plan_of(const NamedTensors& tensors) {
  static const std::map<at::ScalarType, std::string> kName{
      {at::kHalf, "F16"}, {at::kChar, "I8"}, {at::kFloat, "F32"}};
  std::vector<PlannedTensor> plan;
  for (const auto& nt : tensors)
    plan.push_back({nt.name, kName.at(nt.tensor.scalar_type()), nt.tensor.sizes().vec(),
                    static_cast<std::uint64_t>(nt.tensor.nbytes())});
  return plan;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using StreamOpener = std::unique_ptr<ShardedTensorStream> (*)(const fs::path&, const NamedTensors&, std::uint64_t);
using BatchWriter = ShardedWrite (*)(const fs::path&, const NamedTensors&, std::uint64_t);

struct Format {
  const char* name;
  StreamOpener open;
  BatchWriter batch;
};

const Format kFormats[] = {
    {"safetensors",
     [](const fs::path& d, const NamedTensors& t, std::uint64_t max) {
       return open_sharded_safetensors_stream(d, plan_of(t), max);
     },
     [](const fs::path& d, const NamedTensors& t, std::uint64_t max) { return write_safetensors_sharded(d, t, max); }},
    {"torch_bin",
     [](const fs::path& d, const NamedTensors& t, std::uint64_t max) {
       return open_sharded_torch_bin_stream(d, plan_of(t), max);
     },
     [](const fs::path& d, const NamedTensors& t, std::uint64_t max) { return write_torch_bin_sharded(d, t, max); }},
};

class TensorStream : public ::testing::TestWithParam<Format> {};

void write_all(ShardedTensorStream& s, const NamedTensors& tensors) {
  for (const auto& nt : tensors) s.write(nt.name, nt.tensor.data_ptr(), nt.tensor.nbytes());
}

TEST_P(TensorStream, StreamedShardsEqualTheBatchWritersBytes) {
  testing::ScratchDir streamed, batch;
  const NamedTensors tensors = stream_sample_tensors();
  auto s = GetParam().open(streamed.path(), tensors, 1200);  // several shards
  write_all(*s, tensors);
  const ShardedWrite a = s->finish();
  const ShardedWrite b = GetParam().batch(batch.path(), tensors, 1200);
  ASSERT_GT(a.shards.size(), 1u);
  ASSERT_EQ(a.shards.size(), b.shards.size());
  EXPECT_EQ(a.total_size, b.total_size);
  for (std::size_t k = 0; k < a.shards.size(); ++k)
    EXPECT_EQ(file_bytes(a.shards[k]), file_bytes(b.shards[k])) << a.shards[k];
  EXPECT_EQ(file_bytes(a.index_file), file_bytes(b.index_file));
}

TEST_P(TensorStream, OutOfOrderWriteNamesBothTensorsAndLeavesNoFile) {
  testing::ScratchDir dir;
  const NamedTensors tensors = stream_sample_tensors();
  auto s = GetParam().open(dir.path(), tensors, 1ull << 30);
  s->write(tensors[0].name, tensors[0].tensor.data_ptr(), tensors[0].tensor.nbytes());
  try {
    s->write(tensors[2].name, tensors[2].tensor.data_ptr(), tensors[2].tensor.nbytes());
    FAIL() << "an out-of-order write was accepted";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), tensors[2].name);
    EXPECT_NE(std::string(e.what()).find("'" + tensors[1].name + "' next"), std::string::npos) << e.what();
  }
  s.reset();  // abandoned: the partial shard must vanish
  EXPECT_TRUE(fs::is_empty(dir.path())) << "an abandoned stream left files";
}

TEST_P(TensorStream, WrongSizeIsRefused) {
  testing::ScratchDir dir;
  const NamedTensors tensors = stream_sample_tensors();
  auto s = GetParam().open(dir.path(), tensors, 1ull << 30);
  EXPECT_THROW(s->write(tensors[0].name, tensors[0].tensor.data_ptr(), tensors[0].tensor.nbytes() - 2),
               CheckpointError);
}

TEST_P(TensorStream, FinishBeforeEveryTensorNamesTheFirstMissingAndWritesNoIndex) {
  testing::ScratchDir dir;
  const NamedTensors tensors = stream_sample_tensors();
  auto s = GetParam().open(dir.path(), tensors, 1200);
  for (std::size_t i = 0; i < 3; ++i) s->write(tensors[i].name, tensors[i].tensor.data_ptr(), tensors[i].tensor.nbytes());
  try {
    s->finish();
    FAIL() << "an incomplete stream finished";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), tensors[3].name);
  }
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".index.json"), std::string::npos) << entry.path();
}

TEST_P(TensorStream, WriteAfterTheLastTensorIsRefused) {
  testing::ScratchDir dir;
  const NamedTensors tensors = stream_sample_tensors();
  auto s = GetParam().open(dir.path(), tensors, 1ull << 30);
  write_all(*s, tensors);
  EXPECT_THROW(s->write("extra", tensors[0].tensor.data_ptr(), 0), CheckpointError);
}

TEST_P(TensorStream, RepeatedNameIsRefusedBeforeAnyFileExists) {
  testing::ScratchDir dir;
  NamedTensors tensors = stream_sample_tensors();
  tensors[3].name = tensors[1].name;
  EXPECT_THROW(GetParam().open(dir.path(), tensors, 1ull << 30), CheckpointError);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

INSTANTIATE_TEST_SUITE_P(Formats, TensorStream, ::testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SafetensorsFileStream, PlanWithAWrongByteCountIsRefused) {
  testing::ScratchDir dir;
  EXPECT_THROW(SafetensorsFileStream(dir / "x.safetensors", {{"t", "F16", {3, 4}, 23}}, {}), CheckpointError);
  EXPECT_THROW(SafetensorsFileStream(dir / "x.safetensors", {{"t", "Q7", {3}, 3}}, {}), CheckpointError);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace smoothcheck::checkpoint
