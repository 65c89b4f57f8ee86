// Tensors in the format's other dtypes (harness/checkpoint/opaque_tensor.h), as BERT's I64 position_ids:
// listed, validated, refused as compute tensors with a message that says why, and carried through
// every writer byte for byte.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {
namespace {

OpaqueTensor position_ids(int64_t n) {
  OpaqueTensor o{"embeddings.position_ids", "I64", {1, n}, std::vector<std::uint8_t>(static_cast<std::size_t>(n) * 8)};
  for (int64_t i = 0; i < n; ++i) std::memcpy(o.bytes.data() + 8 * i, &i, 8);  // little-endian host
  return o;
}

NamedTensors float_tensors() {
  return {{"embeddings.word_embeddings.weight", at::arange(12, at::kFloat).reshape({3, 4})},
          {"encoder.layer.0.attention.self.query.bias", at::ones({4}, at::kFloat)}};
}

void expect_carried(const Checkpoint& c, const OpaqueTensor& want) {
  for (const auto& name : c.tensor_names()) EXPECT_NE(name, want.name) << "an opaque tensor is listed for compute";
  EXPECT_FALSE(c.contains(want.name));
  const OpaqueTensors got = c.opaque_tensors();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, want.name);
  EXPECT_EQ(got[0].dtype, want.dtype);
  EXPECT_EQ(got[0].shape, want.shape);
  EXPECT_EQ(got[0].bytes, want.bytes);
  try {
    (void)c.tensor(want.name);
    ADD_FAILURE() << "tensor() handed out an " << want.dtype << " tensor";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), want.name);
    EXPECT_NE(e.problem().find("is stored as " + want.dtype), std::string::npos) << e.what();
  }
}

TEST(OpaqueTensors, SingleSafetensorsFileListsAndCarriesThem) {
  testing::ScratchDir dir;
  const auto ids = position_ids(7);
  write_safetensors(dir / "model.safetensors", float_tensors(), {}, {ids});
  const auto c = open_checkpoint(dir / "model.safetensors");
  EXPECT_EQ(c->tensor_names().size(), 2u);
  expect_carried(*c, ids);

  // Re-exporting what a reader returned reproduces the bytes.
  write_safetensors(dir / "copy.safetensors", float_tensors(), {}, c->opaque_tensors());
  expect_carried(*open_checkpoint(dir / "copy.safetensors"), ids);
}

TEST(OpaqueTensors, ShardedSafetensorsCountThemInTotalSize) {
  testing::ScratchDir dir;
  const auto ids = position_ids(5);
  const ShardedWrite w = write_safetensors_sharded(dir.path(), float_tensors(), 48, {}, "model", {ids});
  EXPECT_EQ(w.total_size, 12u * 4 + 4 * 4 + 5 * 8);
  EXPECT_GE(w.shards.size(), 2u);
  expect_carried(*open_checkpoint(dir.path()), ids);
}

TEST(OpaqueTensors, TorchBinStoresI64AsLongStorage) {
  testing::ScratchDir dir;
  const auto ids = position_ids(6);
  write_torch_bin(dir / "pytorch_model.bin", float_tensors(), {ids});
  const NamedTensors back = read_torch_bin(dir / "pytorch_model.bin");
  ASSERT_EQ(back.size(), 3u);
  const at::Tensor t = back[2].tensor;
  EXPECT_EQ(back[2].name, ids.name);
  EXPECT_EQ(t.scalar_type(), at::kLong);
  EXPECT_TRUE(at::equal(t, at::arange(6, at::kLong).reshape({1, 6})));
}

TEST(OpaqueTensors, WritersRefuseWhatTheyCannotStore) {
  testing::ScratchDir dir;
  OpaqueTensor u16{"mask", "U16", {2}, {0, 0, 1, 0}};
  try {
    write_torch_bin(dir / "a.bin", {}, {u16});
    ADD_FAILURE() << "wrote U16 into a torch.save archive";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "mask");
    EXPECT_NE(e.problem().find("no torch.save storage"), std::string::npos) << e.what();
  }
  OpaqueTensor computable{"w", "F32", {1}, {0, 0, 0, 0}};  // F32 goes through NamedTensors, not as bytes
  EXPECT_THROW(write_safetensors(dir / "b.safetensors", {}, {}, {computable}), CheckpointError);
  OpaqueTensor clash = position_ids(1);
  clash.name = "encoder.layer.0.attention.self.query.bias";
  EXPECT_THROW(write_safetensors(dir / "c.safetensors", float_tensors(), {}, {clash}), CheckpointError);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir / "b.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir / "c.safetensors"));
}

}  // namespace
}  // namespace smoothcheck::checkpoint
