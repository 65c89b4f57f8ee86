// torch.save'd dicts of dicts of tensors (the layout of lmdeploy's inputs_stats.pth): smoothcheck's own
// archives read back and as LibTorch's pickle_load sees them, keys not asked for left unexamined, and
// refusals naming the file, the entry and the problem. The file lmdeploy itself wrote is read in
// cases/pipeline/lmdeploy_inputs_stats_cases.cpp.
#include <fstream>
#include <functional>
#include <string>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "checkpoint_test_support.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/torch_bin.h"

namespace smoothcheck::checkpoint {
namespace {

std::vector<TensorTable> sample_tables() {
  at::manual_seed(5);
  return {{"max", {{"model.layers.0.self_attn.q_proj", at::randn({4}).to(at::kHalf)},
                   {"model.layers.0.mlp.down_proj", at::randn({6}).to(at::kHalf)}}},
          {"min", {{"model.layers.0.self_attn.q_proj", at::randn({4})},
                   {"model.layers.0.mlp.down_proj", at::arange(20, at::kFloat).narrow(0, 3, 6)}}},  // a view
          {"empty", {}},
          {"counts", {{"a", at::arange(3, at::kInt)}}}};
}

// A torch.save zip archive holding `pickle` as data.pkl and `records` as data/0, data/1, ...
void write_archive(const std::filesystem::path& file, const std::string& pickle, const std::vector<std::string>& records = {}) {
  std::ofstream out(file, std::ios::binary);
  caffe2::serialize::PyTorchStreamWriter zip([&](const void* p, size_t n) -> size_t {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    return n;
  });
  zip.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (std::size_t i = 0; i < records.size(); ++i)
    zip.writeRecord("data/" + std::to_string(i), records[i].data(), records[i].size());
  zip.writeEndOfFile();
}

void write_pickle_save(const std::filesystem::path& file, const c10::IValue& v) {
  const auto bytes = torch::jit::pickle_save(v);
  testing::write_bytes(file, std::string(bytes.begin(), bytes.end()));
}

// Runs f, which must throw CheckpointError naming `file` and `tensor` with `problem` in its message.
void expect_refusal(const std::function<void()>& f, const std::filesystem::path& file, const std::string& tensor,
                    const std::string& problem) {
  try {
    f();
    FAIL() << "accepted; expected a refusal about '" << tensor << "': " << problem;
  } catch (const CheckpointError& e) {
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_EQ(e.tensor(), tensor) << e.what();
    EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
  }
}

TEST(TorchTensorTables, RoundTripKeepsOrderDtypesAndValues) {
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";
  const auto tables = sample_tables();
  write_torch_tensor_tables(file, tables);
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty()) << "a temporary file of the atomic write was left";

  const TensorTables back = read_torch_tensor_tables(file, {"max", "min", "empty", "counts"});
  EXPECT_TRUE(back.other_keys.empty());
  ASSERT_EQ(back.tables.size(), tables.size());
  for (std::size_t i = 0; i < tables.size(); ++i) {
    EXPECT_EQ(back.tables[i].key, tables[i].key);
    ASSERT_EQ(back.tables[i].tensors.size(), tables[i].tensors.size()) << tables[i].key;
    for (std::size_t j = 0; j < tables[i].tensors.size(); ++j) {
      const NamedTensor& want = tables[i].tensors[j];
      const NamedTensor& got = back.tables[i].tensors[j];
      EXPECT_EQ(got.name, want.name);
      EXPECT_EQ(got.tensor.scalar_type(), want.tensor.scalar_type()) << want.name;
      EXPECT_TRUE(got.tensor.equal(want.tensor)) << want.name;
    }
  }
}

TEST(TorchTensorTables, KeysNotAskedForAreNamedButNotExamined) {
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";
  write_torch_tensor_tables(file, sample_tables());
  const TensorTables back = read_torch_tensor_tables(file, {"min", "absent"});
  ASSERT_EQ(back.tables.size(), 1u);
  EXPECT_EQ(back.tables[0].key, "min");
  EXPECT_EQ(back.other_keys, (std::vector<std::string>{"max", "empty", "counts"}));

  // A value under a key not asked for may be anything: lmdeploy's "ratios" holds floats and None.
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  c10::impl::GenericDict absmax(c10::StringType::get(), c10::TensorType::get());
  absmax.insert("q", at::ones({2}));
  c10::impl::GenericDict ratios(c10::StringType::get(), c10::AnyType::get());
  ratios.insert("q", 0.25);
  ratios.insert("k", c10::IValue());
  root.insert("absmax", absmax);
  root.insert("ratios", ratios);
  const auto made = dir / "ratios.pth";
  write_pickle_save(made, root);
  const TensorTables r = read_torch_tensor_tables(made, {"absmax"});
  ASSERT_EQ(r.tables.size(), 1u);
  EXPECT_TRUE(r.tables[0].tensors.at(0).tensor.equal(at::ones({2})));
  EXPECT_EQ(r.other_keys, std::vector<std::string>{"ratios"});
}

TEST(TorchTensorTables, WrittenArchiveIsWhatPickleLoadReads) {
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";
  const auto tables = sample_tables();
  write_torch_tensor_tables(file, tables);
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue root = torch::jit::pickle_load(bytes);
  ASSERT_TRUE(root.isGenericDict());
  const auto outer = root.toGenericDict();
  ASSERT_EQ(outer.size(), tables.size());
  for (const TensorTable& t : tables) {
    const auto inner = outer.at(t.key).toGenericDict();
    ASSERT_EQ(inner.size(), t.tensors.size()) << t.key;
    for (const NamedTensor& nt : t.tensors) EXPECT_TRUE(inner.at(nt.name).toTensor().equal(nt.tensor)) << nt.name;
  }
}

TEST(TorchTensorTables, RefusesWhatIsNotADictOfDictsOfTensors) {
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";

  testing::write_bytes(file, std::string("\x80\x02}q\x00.", 6));  // a legacy (pre-1.6) pickle
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "", "not a zip archive");

  write_pickle_save(file, c10::List<at::Tensor>({at::ones({2})}));
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "", "not a dict of dicts");

  write_torch_bin(file, {{"absmax", at::ones({2})}});  // a flat dict {name: tensor}
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "absmax", "is a Tensor, not a dict");

  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  c10::impl::GenericDict absmax(c10::StringType::get(), c10::AnyType::get());
  absmax.insert("model.layers.0.self_attn.q_proj", at::ones({2}));
  absmax.insert("model.layers.0.mlp.down_proj", 1.5);
  root.insert("absmax", absmax);
  write_pickle_save(file, root);
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "absmax[model.layers.0.mlp.down_proj]",
                 "is a Double, not a tensor");

  c10::impl::GenericDict int_keys(c10::IntType::get(), c10::AnyType::get());
  int_keys.insert(3, at::ones({2}));
  write_pickle_save(file, int_keys);
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "", "a top-level key is a Int");
}

TEST(TorchTensorTables, RefusesATensorReachingPastItsStorage) {
  // {"absmax": {"q": tensor}} whose storage record holds one float while its size claims 100: the
  // pickle as torch.save writes it, the size changed by hand.
  static const char kPickle[] =
      "\x80\x02}(X\x06\x00\x00\x00" "absmax}(X\x01\x00\x00\x00" "q"
      "ctorch._utils\n_rebuild_tensor_v2\n"
      "((X\x07\x00\x00\x00" "storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x01tQ"
      "K\x00K\x64\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)RtR" "uu.";
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";
  write_archive(file, std::string(kPickle, sizeof kPickle - 1), {std::string(4, '\0')});
  expect_refusal([&] { read_torch_tensor_tables(file, {"absmax"}); }, file, "absmax[q]", "reach past its 4-byte storage record");

  // The same pickle with the size it should have (1) reads.
  std::string fixed(kPickle, sizeof kPickle - 1);
  fixed.replace(fixed.find("K\x64\x85"), 3, "K\x01\x85");
  write_archive(file, fixed, {std::string(4, '\0')});
  EXPECT_EQ(read_torch_tensor_tables(file, {"absmax"}).tables.at(0).tensors.at(0).tensor.numel(), 1);
}

TEST(TorchTensorTables, WriterRefusesRepeatedOrEmptyNamesAndLeavesNoFile) {
  testing::ScratchDir dir;
  const auto file = dir / "inputs_stats.pth";
  expect_refusal([&] { write_torch_tensor_tables(file, {{"max", {}}, {"max", {}}}); }, file, "max", "given twice");
  expect_refusal([&] { write_torch_tensor_tables(file, {{"max", {{"q", at::ones({1})}, {"q", at::ones({1})}}}}); }, file,
                 "max[q]", "given twice");
  expect_refusal([&] { write_torch_tensor_tables(file, {{"", {}}}); }, file, "", "empty key");
  expect_refusal([&] { write_torch_tensor_tables(file, {{"max", {{"q", at::ones({1}, at::kLong)}}}}); }, file,
                 "max[q]", "unsupported dtype");
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(testing::hidden_files(dir.path()).empty());
}

}  // namespace
}  // namespace smoothcheck::checkpoint
