// safetensors written by smoothcheck read back bit for bit, single and sharded, with the layout
// details other readers rely on (8-byte aligned data section, space padding, exact total_size).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/model_dir.h"
#include "harness/checkpoint/safetensors_reader.h"
#include "harness/checkpoint/safetensors_writer.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::checkpoint {
namespace {

// One tensor of every supported dtype, plus the awkward shapes: 0-d, empty, non-contiguous input.
NamedTensors sample_tensors() {
  at::manual_seed(7);
  NamedTensors t;
  t.push_back({"model.f32", at::randn({3, 5})});
  t.push_back({"model.f16", at::randn({7}).to(at::kHalf)});
  t.push_back({"model.bf16", at::randn({2, 3, 4}).to(at::kBFloat16)});
  t.push_back({"model.i8", at::randint(-128, 128, {4, 9}).to(at::kChar)});
  t.push_back({"model.i32", at::randint(-100000, 100000, {6}).to(at::kInt)});
  t.push_back({"model.f64", at::randn({2, 2}, at::kDouble)});
  t.push_back({"model.scalar", at::scalar_tensor(3.5)});
  t.push_back({"model.empty", at::empty({0, 3})});
  t.push_back({"model.transposed", at::arange(12, at::kFloat).view({3, 4}).t()});
  return t;
}

void expect_same(const Checkpoint& ckpt, const NamedTensors& tensors) {
  ASSERT_EQ(ckpt.tensor_names().size(), tensors.size());
  for (const auto& nt : tensors) {
    ASSERT_TRUE(ckpt.contains(nt.name)) << nt.name;
    const at::Tensor back = ckpt.tensor(nt.name);
    EXPECT_EQ(back.scalar_type(), nt.tensor.scalar_type()) << nt.name;
    EXPECT_EQ(back.sizes(), nt.tensor.sizes()) << nt.name;
    EXPECT_TRUE(back.equal(nt.tensor)) << nt.name;
    EXPECT_EQ(ckpt.info(nt.name).nbytes, static_cast<std::uint64_t>(nt.tensor.numel() * nt.tensor.element_size()));
  }
}

// mapped() holds each tensor's own bytes in place, and they read the same again after their pages are
// dropped (the page cache gives them back: the mapping is private and read-only).
void expect_mapped_same(const Checkpoint& ckpt, const NamedTensors& tensors) {
  for (const auto& nt : tensors) {
    const std::optional<MappedTensorBytes> m = ckpt.mapped(nt.name);
    ASSERT_TRUE(m.has_value()) << nt.name;
    const at::Tensor c = nt.tensor.contiguous();
    const auto nbytes = static_cast<std::uint64_t>(c.numel() * c.element_size());
    EXPECT_EQ(m->info.shape, c.sizes().vec()) << nt.name;
    EXPECT_EQ(m->info.nbytes, nbytes) << nt.name;
    EXPECT_EQ(to_scalar_type(m->info.dtype), c.scalar_type()) << nt.name;
    if (nbytes == 0) continue;
    EXPECT_EQ(std::memcmp(m->data, c.data_ptr(), nbytes), 0) << nt.name;
    m->release(0, nbytes);
    EXPECT_EQ(std::memcmp(m->data, c.data_ptr(), nbytes), 0) << nt.name << " after its pages were dropped";
  }
}

std::uint64_t total_bytes(const NamedTensors& tensors) {
  std::uint64_t n = 0;
  for (const auto& nt : tensors) n += static_cast<std::uint64_t>(nt.tensor.numel() * nt.tensor.element_size());
  return n;
}

TEST(SafetensorsIO, SingleFileRoundTrip) {
  testing::ScratchDir dir;
  const auto tensors = sample_tensors();
  const auto file = dir / "model.safetensors";
  write_safetensors(file, tensors, {{"producer", "smoothcheck"}});
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty()) << "temporary file left behind";

  SafetensorsFile raw(file);
  EXPECT_EQ(raw.metadata().at("producer"), "smoothcheck");
  EXPECT_EQ(raw.metadata().at("format"), "pt");
  // The data section starts 8-byte aligned, the header padded with spaces, and the file ends with
  // the last tensor: nothing but header and tensors.
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + total_bytes(tensors));
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));

  expect_same(*open_checkpoint(file), tensors);
  expect_same(*open_checkpoint(dir.path()), tensors);  // found as dir/model.safetensors
  expect_mapped_same(*open_checkpoint(file), tensors);
}

TEST(SafetensorsIO, ShardedRoundTripWithExactTotalSize) {
  testing::ScratchDir dir;
  const auto tensors = sample_tensors();
  const ShardedWrite w = write_safetensors_sharded(dir.path(), tensors, /*max_shard_bytes=*/64);
  EXPECT_GT(w.shards.size(), 2u);
  EXPECT_EQ(w.total_size, total_bytes(tensors));
  EXPECT_EQ(w.index_file, dir / "model.safetensors.index.json");
  EXPECT_EQ(w.shards.front().filename().string(),
            "model-00001-of-0000" + std::to_string(w.shards.size()) + ".safetensors");
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty()) << "temporary file left behind";

  std::ifstream in(w.index_file);
  const auto index = nlohmann::json::parse(in);
  EXPECT_EQ(index["metadata"]["total_size"].get<std::uint64_t>(), total_bytes(tensors));
  EXPECT_EQ(index["weight_map"].size(), tensors.size());

  const auto ckpt = open_checkpoint(dir.path());
  EXPECT_EQ(ckpt->format(), CheckpointFormat::safetensors_sharded);
  EXPECT_EQ(ckpt->declared_total_size(), total_bytes(tensors));
  expect_same(*ckpt, tensors);
  expect_mapped_same(*ckpt, tensors);
  // No shard holds more than the limit unless it holds a single tensor.
  for (const auto& shard : w.shards) {
    SafetensorsFile f(shard);
    std::uint64_t sum = 0;
    for (const auto& e : f.entries()) sum += e.info.nbytes;
    EXPECT_TRUE(sum <= 64 || f.entries().size() == 1) << shard;
  }
}

TEST(SafetensorsIO, WriterRefusesBadInput) {
  testing::ScratchDir dir;
  const auto file = dir / "x.safetensors";
  EXPECT_THROW(write_safetensors(file, {{"a", at::ones({1})}, {"a", at::ones({1})}}), CheckpointError);
  EXPECT_THROW(write_safetensors(file, {{"__metadata__", at::ones({1})}}), CheckpointError);
  try {
    write_safetensors(file, {{"ids", at::ones({2}, at::kLong)}});
    FAIL() << "wrote an int64 tensor";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported dtype"), std::string::npos) << e.what();
    EXPECT_EQ(e.tensor(), "ids");
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty());
}

TEST(SafetensorsIO, OverwriteReplacesAtomically) {
  testing::ScratchDir dir;
  const auto file = dir / "model.safetensors";
  write_safetensors(file, {{"a", at::ones({4})}});
  write_safetensors(file, {{"b", at::zeros({2}, at::kHalf)}});
  const auto ckpt = open_checkpoint(file);
  EXPECT_EQ(ckpt->tensor_names(), std::vector<std::string>{"b"});
}

// mapped() and mapped_of_shape() refuse what tensor() and tensor_of_shape() refuse, naming the file and
// tensor; a format that decodes its tensors (.bin) maps none.
TEST(SafetensorsIO, MappedBytesAreRefusedAsTensorsAre) {
  testing::ScratchDir dir;
  const auto file = dir / "model.safetensors";
  write_safetensors(file, {{"w", at::ones({2, 3}, at::kHalf)}});
  const auto ckpt = open_checkpoint(file);
  try {
    ckpt->mapped("absent");
    FAIL() << "mapped an absent tensor";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "absent");
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(mapped_of_shape(*ckpt, "w", {2, 3}, "the test").has_value());
  try {
    mapped_of_shape(*ckpt, "w", {3, 2}, "the test");
    FAIL() << "mapped a tensor of another shape";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.tensor(), "w");
    EXPECT_NE(std::string(e.what()).find("has shape [2, 3] but the test implies [3, 2]"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mapped_of_shape(*ckpt, "absent", {1}, "the test"), CheckpointError);
  const auto bin = dir / "pytorch_model.bin";
  write_torch_bin(bin, {{"w", at::ones({2, 3}, at::kHalf)}});
  EXPECT_FALSE(open_checkpoint(bin)->mapped("w").has_value());
}

// The atomic writer starts each 32 MiB of a large file on its way to disk while the rest is written
// (sync_file_range): a file of several such windows, written in pieces that straddle them, reads back
// whole once committed, and nothing but it is left in the directory.
TEST(AtomicFileWriterLargeFile, ManyWritebackWindowsReadBackWhole) {
  testing::ScratchDir dir;
  const auto file = dir / "large.bin";
  std::vector<std::uint8_t> bytes((std::size_t(70) << 20) + 12345);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  {
    AtomicFileWriter w(file);
    const std::size_t piece = (std::size_t(7) << 20) + 3;
    for (std::size_t at = 0; at < bytes.size(); at += piece)
      w.write(bytes.data() + at, std::min(piece, bytes.size() - at));
    EXPECT_FALSE(std::filesystem::exists(file)) << "visible before commit";
    w.commit();
  }
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(back == bytes);
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty()) << "temporary file left behind";
}

}  // namespace
}  // namespace smoothcheck::checkpoint
