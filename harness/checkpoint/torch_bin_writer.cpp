// The pickle written here is, opcode for opcode, what Python's torch.save (protocol 2) writes for a
// plain dict of tensors:
//   {name: torch._utils._rebuild_tensor_v2(
//            persistent_id(('storage', torch.<T>Storage, '<key>', 'cpu', numel)),
//            storage_offset, size, stride, requires_grad=False, collections.OrderedDict())}
// torch::jit::pickle_save would also be readable by torch.load, but it wraps the dict in
// torch.jit._pickle.restore_type_tag, a global that torch.load(weights_only=True) (the default
// since torch 2.6, and what transformers uses) refuses. The zip container is LibTorch's own
// PyTorchStreamWriter, which lays records out (64-byte aligned, "<archive>/data/<key>",
// "<archive>/version") as torch.save does.
#include <set>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include "harness/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/torch_dtype.h"

namespace smoothcheck::checkpoint {

namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "torch.save archives without a byteorder record are little-endian; this writer copies host memory"
#endif

// Python's legacy storage class names, which torch.load maps back to dtypes.
const char* storage_class(DType t) {
  switch (t) {
    case DType::f64: return "DoubleStorage";
    case DType::f32: return "FloatStorage";
    case DType::f16: return "HalfStorage";
    case DType::bf16: return "BFloat16Storage";
    case DType::i8: return "CharStorage";
    case DType::i32: return "IntStorage";
  }
  return "?";
}

class PickleWriter {
 public:
  void proto2() { op(0x80), byte(2); }
  void stop() { op('.'); }
  void mark() { op('('); }
  void tuple() { op('t'); }
  void empty_tuple() { op(')'); }
  void empty_dict() { op('}'); }
  void setitems() { op('u'); }
  void reduce() { op('R'); }
  void binpersid() { op('Q'); }
  void newfalse() { op(0x89); }
  void global(const std::string& module, const std::string& name) {
    op('c');
    bytes_ += module + "\n" + name + "\n";
  }
  void unicode(const std::string& s) {
    op('X');
    u32(static_cast<std::uint32_t>(s.size()));
    bytes_ += s;
  }
  void integer(std::int64_t v) {
    if (v >= 0 && v < 256) {
      op('K'), byte(static_cast<std::uint8_t>(v));
    } else if (v >= 0 && v < 65536) {
      op('M'), byte(static_cast<std::uint8_t>(v)), byte(static_cast<std::uint8_t>(v >> 8));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J'), u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {
      // LONG1: 8 bytes of little-endian two's complement always represent an int64.
      op(0x8a), byte(8);
      for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i)));
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    if (values.empty()) return empty_tuple();
    mark();
    for (auto v : values) integer(v);
    tuple();
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void op(int c) { bytes_.push_back(static_cast<char>(c)); }
  void byte(std::uint8_t b) { bytes_.push_back(static_cast<char>(b)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::string bytes_;
};

}  // namespace

void write_torch_bin(const std::filesystem::path& file, const NamedTensors& tensors) {
  std::vector<at::Tensor> storages;
  PickleWriter p;
  p.proto2();
  p.empty_dict();
  p.mark();
  std::set<std::string> seen;
  for (const auto& nt : tensors) {
    if (nt.name.empty()) throw CheckpointError(file, "cannot write a tensor with an empty name");
    if (!seen.insert(nt.name).second) throw CheckpointError(file, nt.name, "the name is given twice");
    if (!nt.tensor.defined()) throw CheckpointError(file, nt.name, "the tensor is undefined");
    auto dtype = from_scalar_type(nt.tensor.scalar_type());
    if (!dtype)
      throw CheckpointError(file, nt.name, std::string("unsupported dtype ") + c10::toString(nt.tensor.scalar_type()) +
                                               " (smoothcheck writes F32, F16, BF16, I8, I32, F64)");
    // clone() after contiguous(): a tensor that is already contiguous may still be a view into a
    // larger storage, and a storage record must hold exactly numel elements.
    at::Tensor t = nt.tensor.to(at::kCPU).contiguous().clone();
    const std::string key = std::to_string(storages.size());
    storages.push_back(t);

    p.unicode(nt.name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark();
    p.unicode("storage");
    p.global("torch", storage_class(*dtype));
    p.unicode(key);
    p.unicode("cpu");
    p.integer(t.numel());
    p.tuple();
    p.binpersid();
    p.integer(0);  // storage_offset
    p.int_tuple(t.sizes());
    p.int_tuple(t.strides());
    p.newfalse();  // requires_grad
    p.global("collections", "OrderedDict");  // backward hooks, always empty in a checkpoint
    p.empty_tuple();
    p.reduce();
    p.tuple();
    p.reduce();
  }
  p.setitems();
  p.stop();

  AtomicFileWriter out(file);
  // An exception must not unwind through miniz (C code): the sink reports a short write instead,
  // which PyTorchStreamWriter turns into a c10::Error, and the original error is rethrown here.
  std::string sink_error;
  try {
    // The writer-function constructor names the archive's directory "archive"; torch.load takes
    // whatever single directory the zip holds.
    caffe2::serialize::PyTorchStreamWriter zip([&](const void* data, size_t size) -> size_t {
      if (!sink_error.empty()) return 0;
      try {
        out.write(data, size);
      } catch (const std::exception& e) {
        sink_error = e.what();
        return 0;
      }
      return size;
    });
    zip.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
    for (std::size_t i = 0; i < storages.size(); ++i) {
      const auto& t = storages[i];
      zip.writeRecord("data/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
    }
    zip.writeEndOfFile();
  } catch (const std::exception& e) {
    if (!sink_error.empty()) throw CheckpointError(file, sink_error);
    std::string what = e.what();
    throw CheckpointError(file, "LibTorch could not write the archive: " + what.substr(0, what.find('\n')));
  }
  if (!sink_error.empty()) throw CheckpointError(file, sink_error);
  out.commit();
}

ShardedWrite write_torch_bin_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                     std::uint64_t max_shard_bytes, const std::string& stem) {
  ShardedWrite result;
  result.index_file = dir / (stem + ".bin.index.json");
  if (max_shard_bytes == 0) throw CheckpointError(result.index_file, "max shard size must be positive");
  std::vector<std::uint64_t> sizes;
  for (const auto& nt : tensors)
    sizes.push_back(nt.tensor.defined() ? static_cast<std::uint64_t>(nt.tensor.numel()) * nt.tensor.element_size() : 0);
  const auto plan = plan_shards(sizes, max_shard_bytes);

  ShardIndex index;
  index.total_size = 0;
  for (std::size_t k = 0; k < plan.size(); ++k) {
    const std::string name = shard_file_name(stem, ".bin", k + 1, plan.size());
    NamedTensors members;
    for (std::size_t i : plan[k]) {
      members.push_back(tensors[i]);
      if (index.weight_map.count(tensors[i].name))
        throw CheckpointError(result.index_file, tensors[i].name, "the name is given twice");
      index.weight_map[tensors[i].name] = name;
      *index.total_size += sizes[i];
    }
    write_torch_bin(dir / name, members);
    result.shards.push_back(dir / name);
  }
  write_shard_index(result.index_file, index);
  result.total_size = *index.total_size;
  return result;
}

}  // namespace smoothcheck::checkpoint
