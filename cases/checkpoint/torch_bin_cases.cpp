// torch.save .bin checkpoints: the shared float16 shards read through LibTorch, smoothcheck's own
// archives read back, and refusals that name the file.
#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {
namespace {

NamedTensors bin_sample_tensors() {
  at::manual_seed(11);
  return {{"model.f32", at::randn({3, 5})},
          {"model.f16", at::randn({70}).to(at::kHalf)},
          {"model.bf16", at::randn({2, 3, 4}).to(at::kBFloat16)},
          {"model.i8", at::randint(-128, 128, {4, 9}).to(at::kChar)},
          {"model.i32", at::randint(-100000, 100000, {6}).to(at::kInt)},
          {"model.f64", at::randn({2, 2}, at::kDouble)},
          {"model.scalar", at::scalar_tensor(3.5)},
          {"model.big_dim", at::zeros({70000}, at::kChar)},  // a size that needs a 4-byte pickle int
          {"model.view", at::arange(20, at::kFloat).narrow(0, 5, 10).view({2, 5}).t()}};
}

void expect_same_after_bin_round_trip(const Checkpoint& ckpt, const NamedTensors& tensors) {
  ASSERT_EQ(ckpt.tensor_names().size(), tensors.size());
  for (const auto& nt : tensors) {
    const at::Tensor back = ckpt.tensor(nt.name);
    EXPECT_EQ(back.scalar_type(), nt.tensor.scalar_type()) << nt.name;
    EXPECT_TRUE(back.equal(nt.tensor)) << nt.name;
  }
}

TEST(TorchBin, SharedShardsReadAsFloat16) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto dir = shared / "checkpoints/stories260K/hf-sharded-bin";
  const auto before = testing::fingerprint(dir);
  const auto ckpt = open_checkpoint(dir);
  EXPECT_EQ(ckpt->format(), CheckpointFormat::torch_bin_sharded);
  EXPECT_EQ(ckpt->tensor_names().size(), 47u);  // embed + 5 x 9 + norm; the head is tied
  std::uint64_t total = 0;
  for (const auto& name : ckpt->tensor_names()) {
    const at::Tensor t = ckpt->tensor(name);
    EXPECT_EQ(t.scalar_type(), at::kHalf) << name;
    total += static_cast<std::uint64_t>(t.numel() * t.element_size());
  }
  EXPECT_EQ(ckpt->declared_total_size(), total);
  EXPECT_EQ(total, 260032u * 2);
  EXPECT_EQ(ckpt->tensor("model.layers.4.mlp.down_proj.weight").sizes(), (std::vector<std::int64_t>{64, 172}));
  EXPECT_TRUE(testing::fingerprint(dir) == before) << "the reader modified its input";
}

// The float16 shards are the float32 weights rounded once: equal to hf/ after the same cast.
TEST(TorchBin, SharedShardsAreTheFloat32WeightsRounded) {
  SMOOTHCHECK_REQUIRE_SHARED_DIR(shared);
  const auto f16 = open_checkpoint(shared / "checkpoints/stories260K/hf-sharded-bin");
  const auto f32 = open_checkpoint(shared / "checkpoints/stories260K/hf");
  ASSERT_EQ(f16->tensor_names(), f32->tensor_names());
  for (const auto& name : f32->tensor_names())
    EXPECT_TRUE(f16->tensor(name).equal(f32->tensor(name).to(at::kHalf))) << name;
}

TEST(TorchBin, SingleFileRoundTrip) {
  testing::ScratchDir dir;
  const auto tensors = bin_sample_tensors();
  write_torch_bin(dir / "pytorch_model.bin", tensors);
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty());
  const auto ckpt = open_checkpoint(dir.path());
  EXPECT_EQ(ckpt->format(), CheckpointFormat::torch_bin);
  expect_same_after_bin_round_trip(*ckpt, tensors);
}

TEST(TorchBin, WrittenArchiveIsWhatPickleLoadReads) {
  // LibTorch's own reader, with no smoothcheck code in between, sees a plain dict of tensors with
  // the stored dtypes: the same object torch.save of a dict produces.
  testing::ScratchDir dir;
  const auto tensors = bin_sample_tensors();
  write_torch_bin(dir / "a.bin", tensors);
  std::ifstream in(dir / "a.bin", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto root = torch::jit::pickle_load(bytes);
  ASSERT_TRUE(root.isGenericDict());
  EXPECT_EQ(root.toGenericDict().size(), tensors.size());
  EXPECT_TRUE(root.toGenericDict().at("model.bf16").toTensor().equal(tensors[2].tensor));
}

TEST(TorchBin, ShardedRoundTripWithExactTotalSize) {
  testing::ScratchDir dir;
  const auto tensors = bin_sample_tensors();
  std::uint64_t total = 0;
  for (const auto& nt : tensors) total += static_cast<std::uint64_t>(nt.tensor.numel() * nt.tensor.element_size());
  const ShardedWrite w = write_torch_bin_sharded(dir.path(), tensors, /*max_shard_bytes=*/100);
  EXPECT_GT(w.shards.size(), 2u);
  EXPECT_EQ(w.total_size, total);
  EXPECT_EQ(w.index_file, dir / "pytorch_model.bin.index.json");
  const auto ckpt = open_checkpoint(dir.path());
  EXPECT_EQ(ckpt->format(), CheckpointFormat::torch_bin_sharded);
  EXPECT_EQ(ckpt->declared_total_size(), total);
  expect_same_after_bin_round_trip(*ckpt, tensors);
}

TEST(TorchBin, RefusesWhatIsNotADictOfTensors) {
  testing::ScratchDir dir;
  const auto not_zip = dir / "pytorch_model.bin";
  testing::write_bytes(not_zip, std::string("\x80\x02}q\x00.", 6));  // a legacy (pre-1.6) pickle
  try {
    open_torch_bin(not_zip);
    FAIL() << "read a non-zip file";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(not_zip.string() + ": not a zip archive"), std::string::npos) << e.what();
  }

  c10::Dict<std::string, std::int64_t> ints;
  ints.insert("step", 3);
  const auto bytes = torch::jit::pickle_save(ints);
  const auto ints_file = dir / "ints.bin";
  testing::write_bytes(ints_file, std::string(bytes.begin(), bytes.end()));
  try {
    open_torch_bin(ints_file);
    FAIL() << "read a dict of ints as tensors";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "step");
    EXPECT_NE(std::string(e.what()).find("not a tensor"), std::string::npos) << e.what();
  }

  // torch.save(model.state_dict()) pickles a collections.OrderedDict, which LibTorch 1.13 cannot
  // rebuild: the refusal must say so. (A one-item OrderedDict {"a": 1}, in a torch.save zip.)
  static const char kOrderedDict[] = "\x80\x02" "ccollections\nOrderedDict\n" ")R" "(X\x01\x00\x00\x00" "aK\x01" "u.";
  const std::string od_pickle(kOrderedDict, sizeof kOrderedDict - 1);
  const auto od_file = dir / "od.bin";
  {
    std::ofstream out(od_file, std::ios::binary);
    caffe2::serialize::PyTorchStreamWriter zip([&](const void* p, size_t n) -> size_t {
      out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
      return n;
    });
    zip.writeRecord("data.pkl", od_pickle.data(), od_pickle.size());
    zip.writeEndOfFile();
  }
  try {
    open_torch_bin(od_file);
    FAIL() << "read an OrderedDict archive";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("top-level collections.OrderedDict"), std::string::npos) << e.what();
  }

  // A tensor whose size (100) claims more than its storage record (one float) holds: LibTorch's
  // unpickler builds it as claimed, and copying it out would read past the allocation.
  static const char kOverreach[] =
      "\x80\x02}(X\x01\x00\x00\x00" "w" "ctorch._utils\n_rebuild_tensor_v2\n"
      "((X\x07\x00\x00\x00" "storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x01tQ"
      "K\x00K\x64\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)RtR" "u.";
  const auto overreach_file = dir / "overreach.bin";
  {
    std::ofstream out(overreach_file, std::ios::binary);
    caffe2::serialize::PyTorchStreamWriter zip([&](const void* p, size_t n) -> size_t {
      out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
      return n;
    });
    zip.writeRecord("data.pkl", kOverreach, sizeof kOverreach - 1);
    zip.writeRecord("data/0", "\0\0\0\0", 4);
    zip.writeEndOfFile();
  }
  try {
    open_torch_bin(overreach_file);
    FAIL() << "read a tensor reaching past its storage";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "w");
    EXPECT_NE(std::string(e.what()).find("reach past its 4-byte storage record"), std::string::npos) << e.what();
  }

  write_torch_bin(dir / "long.bin", {{"ok", at::ones({1})}});
  EXPECT_THROW(write_torch_bin(dir / "long.bin", {{"ids", at::ones({2}, at::kLong)}}), CheckpointError);
}

}  // namespace
}  // namespace smoothcheck::checkpoint
