// The pickle written here is, opcode for opcode (memo entries aside), what Python's torch.save
// (protocol 2) writes for a plain dict of tensors, or for a dict of such dicts:
//   {name: torch._utils._rebuild_tensor_v2(
//            persistent_id(('storage', torch.<T>Storage, '<key>', 'cpu', numel)),
//            storage_offset, size, stride, requires_grad=False, collections.OrderedDict())}
// torch::jit::pickle_save would also be readable by torch.load, but it wraps the dict in
// torch.jit._pickle.restore_type_tag, a global that torch.load(weights_only=True) (the default
// since torch 2.6, and what transformers uses) refuses. The zip container is LibTorch's own
// PyTorchStreamWriter, which lays records out (64-byte aligned, "<archive>/data/<key>",
// "<archive>/version") as torch.save does.
#include <algorithm>
#include <optional>
#include <set>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include "harness/checkpoint/atomic_file.h"
#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/shard_index.h"
#include "harness/checkpoint/torch_bin.h"
#include "harness/checkpoint/tensor_info.h"
#include "harness/checkpoint/tensor_stream.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/checkpoint/writable_tensor.h"

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

namespace {

std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& sizes) {
  // As LibTorch computes them: a dimension of size 0 strides as if it had size 1.
  std::vector<std::int64_t> strides(sizes.size(), 1);
  for (std::size_t i = sizes.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<std::int64_t>(sizes[i], 1);
  return strides;
}

// One tensor, rebuilt by torch.load from storage record "data/<storage>"; `t.name` is what errors call it.
void pickle_tensor(PickleWriter& p, const std::filesystem::path& file, const PlannedTensor& t, std::size_t storage) {
  const auto dtype = dtype_from_safetensors(t.dtype);
  const char* cls = dtype ? storage_class(*dtype) : torch_storage_class_of_other(t.dtype);
  const auto bits = dtype ? std::optional<int>(8 * static_cast<int>(dtype_size(*dtype))) : other_safetensors_dtype_bits(t.dtype);
  if (cls == nullptr || !bits)
    throw CheckpointError(file, t.name, "dtype " + t.dtype + " has no torch.save storage in LibTorch 1.13; "
                                        "export this model as safetensors");
  std::uint64_t numel = 1;
  for (std::int64_t d : t.shape) numel *= static_cast<std::uint64_t>(d);
  if (numel * static_cast<std::uint64_t>(*bits) != 8 * t.nbytes)
    throw CheckpointError(file, t.name, t.dtype + " " + shape_string(t.shape) + " does not hold the " +
                                            std::to_string(t.nbytes) + " bytes planned");
  p.global("torch._utils", "_rebuild_tensor_v2");
  p.mark();
  p.mark();
  p.unicode("storage");
  p.global("torch", cls);
  p.unicode(std::to_string(storage));
  p.unicode("cpu");
  p.integer(static_cast<std::int64_t>(numel));
  p.tuple();
  p.binpersid();
  p.integer(0);  // storage_offset
  p.int_tuple(t.shape);
  p.int_tuple(contiguous_strides(t.shape));
  p.newfalse();  // requires_grad
  p.global("collections", "OrderedDict");  // backward hooks, always empty in a checkpoint
  p.empty_tuple();
  p.reduce();
  p.tuple();
  p.reduce();
}

// The pickle of a dict {name: tensor}, each tensor rebuilt from storage record "data/<i>".
std::string dict_pickle(const std::filesystem::path& file, const std::vector<PlannedTensor>& tensors) {
  std::set<std::string> seen;
  PickleWriter p;
  p.proto2();
  p.empty_dict();
  p.mark();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const PlannedTensor& t = tensors[i];
    if (t.name.empty()) throw CheckpointError(file, "cannot write a tensor with an empty name");
    if (!seen.insert(t.name).second) throw CheckpointError(file, t.name, "the name is given twice");
    p.unicode(t.name);
    pickle_tensor(p, file, t, i);
  }
  p.setitems();
  p.stop();
  return p.bytes();
}

// The pickle of a dict of dicts {key: {name: tensor}}, as torch.save writes one (each inner dict is
// EMPTY_DICT, MARK, its items, SETITEMS inside the outer dict's items). `plan` holds the tables'
// tensors in order, the storage records "data/<i>" numbered across all tables.
std::string tables_pickle(const std::filesystem::path& file, const std::vector<TensorTable>& tables,
                          const std::vector<PlannedTensor>& plan) {
  std::set<std::string> keys;
  PickleWriter p;
  p.proto2();
  p.empty_dict();
  p.mark();
  std::size_t storage = 0;
  for (const TensorTable& table : tables) {
    if (table.key.empty()) throw CheckpointError(file, "cannot write a table with an empty key");
    if (!keys.insert(table.key).second) throw CheckpointError(file, table.key, "the key is given twice");
    p.unicode(table.key);
    p.empty_dict();
    p.mark();
    std::set<std::string> names;
    for (const NamedTensor& nt : table.tensors) {
      const PlannedTensor& t = plan.at(storage);
      if (nt.name.empty()) throw CheckpointError(file, table.key, "cannot write a tensor with an empty name");
      if (!names.insert(nt.name).second) throw CheckpointError(file, t.name, "the name is given twice");
      p.unicode(nt.name);
      pickle_tensor(p, file, t, storage++);
    }
    p.setitems();
  }
  p.setitems();
  p.stop();
  return p.bytes();
}

// One torch.save archive, streamed: data.pkl (which needs only names, dtypes and shapes) first, then one
// storage record per tensor as its bytes arrive, then the zip's central directory on commit().
class TorchBinFileStream final : public TensorFileStream {
 public:
  // A dict {name: tensor} of `tensors`.
  TorchBinFileStream(const std::filesystem::path& file, std::vector<PlannedTensor> tensors)
      : TorchBinFileStream(file, tensors, dict_pickle(file, tensors)) {}
  // Any pickle whose persistent ids name the storage records "0" .. "N-1" of `tensors`, in order.
  TorchBinFileStream(const std::filesystem::path& file, std::vector<PlannedTensor> tensors, const std::string& pickle)
      : file_(file), tensors_(std::move(tensors)), out_(file) {
    guarded([&] {
      // The writer-function constructor names the archive's directory "archive"; torch.load takes
      // whatever single directory the zip holds.
      zip_ = std::make_unique<caffe2::serialize::PyTorchStreamWriter>(
          [this](const void* data, size_t size) { return sink(data, size); });
      zip_->writeRecord("data.pkl", pickle.data(), pickle.size());
    });
  }
  ~TorchBinFileStream() override {
    // An unfinished archive is abandoned: the writer's destructor finalises the zip, which must neither
    // reach the file (removed uncommitted) nor throw out of a destructor.
    abandoned_ = true;
    zip_.reset();
  }

  void write(const std::string& name, const void* data, std::uint64_t nbytes) override {
    if (next_ == tensors_.size()) throw CheckpointError(file_, name, "written after every planned tensor of this file");
    const PlannedTensor& want = tensors_[next_];
    if (name != want.name)
      throw CheckpointError(file_, name, "written out of order: the archive's pickle places '" + want.name + "' next");
    if (nbytes != want.nbytes)
      throw CheckpointError(file_, name, "has " + std::to_string(nbytes) + " bytes but " + std::to_string(want.nbytes) +
                                             " were planned");
    guarded([&] { zip_->writeRecord("data/" + std::to_string(next_), data, nbytes); });
    ++next_;
  }
  bool complete() const override { return next_ == tensors_.size(); }
  void commit() override {
    if (!complete()) throw CheckpointError(file_, tensors_[next_].name, "was never written; the file is incomplete");
    guarded([&] { zip_->writeEndOfFile(); });
    out_.commit();
  }

 private:
  // An exception must not unwind through miniz (C code): the sink reports a short write instead,
  // which PyTorchStreamWriter turns into a c10::Error, and the original error is rethrown here.
  size_t sink(const void* data, size_t size) {
    if (abandoned_) return size;
    if (!sink_error_.empty()) return 0;
    try {
      out_.write(data, size);
    } catch (const std::exception& e) {
      sink_error_ = e.what();
      return 0;
    }
    return size;
  }
  template <class F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      if (!sink_error_.empty()) throw CheckpointError(file_, sink_error_);
      std::string what = e.what();
      throw CheckpointError(file_, "LibTorch could not write the archive: " + what.substr(0, what.find('\n')));
    }
    if (!sink_error_.empty()) throw CheckpointError(file_, sink_error_);
  }

  std::filesystem::path file_;
  std::vector<PlannedTensor> tensors_;
  std::size_t next_ = 0;
  AtomicFileWriter out_;
  std::string sink_error_;
  bool abandoned_ = false;
  std::unique_ptr<caffe2::serialize::PyTorchStreamWriter> zip_;  // after out_: destroyed before it
};

// The tensors' plan and bytes in storage order: tensors, then opaque tensors.
struct PreparedBin {
  std::vector<PlannedTensor> plan;
  std::vector<const void*> data;
  std::vector<at::Tensor> keep_alive;
};

PreparedBin prepare_bin(const std::filesystem::path& file, const NamedTensors& tensors, const OpaqueTensors& opaque) {
  PreparedBin p;
  for (const auto& nt : tensors) {
    const DType dtype = writable_dtype(file, nt);
    // clone() after contiguous(): a tensor that is already contiguous may still be a view into a
    // larger storage, and a storage record must hold exactly numel elements.
    at::Tensor t = nt.tensor.to(at::kCPU).contiguous().clone();
    p.plan.push_back({nt.name, safetensors_name(dtype), t.sizes().vec(),
                      static_cast<std::uint64_t>(t.numel()) * t.element_size()});
    p.data.push_back(t.data_ptr());
    p.keep_alive.push_back(t);
  }
  for (const auto& o : opaque) {
    p.plan.push_back({o.name, o.dtype, o.shape, o.bytes.size()});
    p.data.push_back(o.bytes.data());
  }
  return p;
}

}  // namespace

void write_torch_bin(const std::filesystem::path& file, const NamedTensors& tensors, const OpaqueTensors& opaque) {
  const PreparedBin p = prepare_bin(file, tensors, opaque);
  TorchBinFileStream out(file, p.plan);
  for (std::size_t i = 0; i < p.plan.size(); ++i) out.write(p.plan[i].name, p.data[i], p.plan[i].nbytes);
  out.commit();
}

void write_torch_tensor_tables(const std::filesystem::path& file, const std::vector<TensorTable>& tables) {
  NamedTensors flat;  // every table's tensors in storage order, named as errors show them
  for (const TensorTable& table : tables)
    for (const NamedTensor& nt : table.tensors) flat.push_back({table.key + "[" + nt.name + "]", nt.tensor});
  const PreparedBin p = prepare_bin(file, flat, {});
  TorchBinFileStream out(file, p.plan, tables_pickle(file, tables, p.plan));
  for (std::size_t i = 0; i < p.plan.size(); ++i) out.write(p.plan[i].name, p.data[i], p.plan[i].nbytes);
  out.commit();
}

std::unique_ptr<ShardedTensorStream> open_sharded_torch_bin_stream(const std::filesystem::path& dir,
                                                                   std::vector<PlannedTensor> tensors,
                                                                   std::uint64_t max_shard_bytes,
                                                                   const std::string& stem) {
  return std::make_unique<ShardedTensorStream>(
      dir, stem, ".bin", std::move(tensors), max_shard_bytes,
      [](const std::filesystem::path& file, std::vector<PlannedTensor> members) {
        return std::make_unique<TorchBinFileStream>(file, std::move(members));
      });
}

ShardedWrite write_torch_bin_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                     std::uint64_t max_shard_bytes, const std::string& stem,
                                     const OpaqueTensors& opaque) {
  const PreparedBin p = prepare_bin(dir / (stem + ".bin.index.json"), tensors, opaque);
  auto out = open_sharded_torch_bin_stream(dir, p.plan, max_shard_bytes, stem);
  for (std::size_t i = 0; i < p.plan.size(); ++i) out->write(p.plan[i].name, p.data[i], p.plan[i].nbytes);
  return out->finish();
}

}  // namespace smoothcheck::checkpoint
