#include "harness/checkpoint/safetensors_writer.h"

#include <ATen/ATen.h>

#include "harness/checkpoint/checkpoint_error.h"
#include "harness/checkpoint/dtype_names.h"
#include "harness/checkpoint/safetensors_stream_writer.h"
#include "harness/checkpoint/torch_dtype.h"
#include "harness/checkpoint/writable_tensor.h"

namespace smoothcheck::checkpoint {

namespace {

// The tensors' bytes and their plan, in storage order: tensors, then opaque tensors. Names and dtypes
// are checked by the stream writer's plan validation.
struct Prepared {
  std::vector<PlannedTensor> plan;
  std::vector<const void*> data;
  std::vector<at::Tensor> keep_alive;  // the contiguous CPU copies `data` points into
};

Prepared prepare(const std::filesystem::path& file, const NamedTensors& tensors, const OpaqueTensors& opaque) {
  Prepared p;
  for (const auto& nt : tensors) {
    const DType dtype = writable_dtype(file, nt);
    at::Tensor t = nt.tensor.to(at::kCPU).contiguous();
    p.plan.push_back({nt.name, safetensors_name(dtype), t.sizes().vec(),
                      static_cast<std::uint64_t>(t.numel()) * dtype_size(dtype)});
    p.data.push_back(t.data_ptr());
    p.keep_alive.push_back(t);
  }
  for (const auto& o : opaque) {
    if (!o.name.empty() && !is_other_safetensors_dtype(o.dtype))
      throw CheckpointError(file, o.name, "opaque dtype '" + o.dtype + "' is not one the safetensors format defines");
    p.plan.push_back({o.name, o.dtype, o.shape, o.bytes.size()});
    p.data.push_back(o.bytes.data());
  }
  return p;
}

}  // namespace

void write_safetensors(const std::filesystem::path& file, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata, const OpaqueTensors& opaque) {
  Prepared p = prepare(file, tensors, opaque);
  auto with_format = metadata;
  with_format.emplace("format", "pt");  // transformers refuses safetensors files whose format is not "pt"
  SafetensorsFileStream out(file, p.plan, with_format);
  for (std::size_t i = 0; i < p.plan.size(); ++i) out.write(p.plan[i].name, p.data[i], p.plan[i].nbytes);
  out.commit();
}

ShardedWrite write_safetensors_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                       std::uint64_t max_shard_bytes,
                                       const std::map<std::string, std::string>& metadata, const std::string& stem,
                                       const OpaqueTensors& opaque) {
  Prepared p = prepare(dir / (stem + ".safetensors.index.json"), tensors, opaque);
  auto out = open_sharded_safetensors_stream(dir, p.plan, max_shard_bytes, metadata, stem);
  for (std::size_t i = 0; i < p.plan.size(); ++i) out->write(p.plan[i].name, p.data[i], p.plan[i].nbytes);
  return out->finish();
}

}  // namespace smoothcheck::checkpoint
