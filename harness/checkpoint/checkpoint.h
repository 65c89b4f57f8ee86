// One interface over every stored layout smoothcheck reads: a checkpoint lists tensor names and
// returns a tensor by its Hugging Face name, as a CPU LibTorch tensor in its stored dtype.
// Opening validates what can be validated without reading tensor data (headers, indexes, shard
// names); reading a tensor returns a fresh contiguous tensor the caller owns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/llama_config.h"
#include "harness/checkpoint/mapped_tensor_bytes.h"
#include "harness/checkpoint/opaque_tensor.h"
#include "harness/checkpoint/tensor_info.h"

namespace smoothcheck::checkpoint {

enum class CheckpointFormat { safetensors, safetensors_sharded, torch_bin, torch_bin_sharded, llama2c };
const char* to_string(CheckpointFormat f);

class Checkpoint {
 public:
  virtual ~Checkpoint() = default;

  virtual CheckpointFormat format() const = 0;
  // The file opened: the .safetensors / .bin file, or the index of a sharded checkpoint.
  virtual const std::filesystem::path& location() const = 0;
  // The tensors smoothcheck computes with (dtypes of kernels/options.h), sorted.
  virtual std::vector<std::string> tensor_names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  // dtype and shape; cheap for every format but .bin, where it loads the tensor's shard.
  virtual TensorInfo info(const std::string& name) const = 0;
  // Throws CheckpointError naming the file and tensor when it is absent or of an unsupported dtype.
  virtual at::Tensor tensor(const std::string& name) const = 0;
  // The tensor's bytes in place, where the format maps its files (safetensors, single or sharded), with
  // tensor()'s errors; nullopt where reading means decoding (.bin, llama2.c) or a view computes the tensor.
  virtual std::optional<MappedTensorBytes> mapped(const std::string& /*name*/) const { return std::nullopt; }

  // Tensors in the format's other dtypes (opaque_tensor.h: e.g. BERT's I64 position_ids), with their
  // bytes, for exports to carry over unchanged; not in tensor_names(), refused by tensor().
  virtual OpaqueTensors opaque_tensors() const { return {}; }

  // metadata.total_size of a sharded checkpoint's index, when it states one.
  virtual std::optional<std::uint64_t> declared_total_size() const { return std::nullopt; }
  // The model configuration the file itself implies (llama2.c headers do); nullopt otherwise.
  virtual std::optional<LlamaConfig> embedded_config() const { return std::nullopt; }
};

// The tensor `name` as stored, after checking that it is present and has the `shape` that `required_by`
// implies (e.g. "the LLaMA config", "the quantised layout"); errors name the file and tensor and say so.
at::Tensor tensor_of_shape(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                           const std::string& required_by);
// The same checks, for the tensor's bytes in place: nullopt where the format does not map them (then
// read it with tensor_of_shape).
std::optional<MappedTensorBytes> mapped_of_shape(const Checkpoint& ckpt, const std::string& name,
                                                 const std::vector<std::int64_t>& shape,
                                                 const std::string& required_by);
// The same, converted to `compute` and contiguous: a model's weights in its compute dtype.
at::Tensor config_shaped_tensor(const Checkpoint& ckpt, const std::string& name, const std::vector<std::int64_t>& shape,
                                c10::ScalarType compute, const std::string& required_by);

std::unique_ptr<Checkpoint> open_safetensors(const std::filesystem::path& file);
std::unique_ptr<Checkpoint> open_safetensors_index(const std::filesystem::path& index_json);
std::unique_ptr<Checkpoint> open_torch_bin(const std::filesystem::path& file);
std::unique_ptr<Checkpoint> open_torch_bin_index(const std::filesystem::path& index_json);
std::unique_ptr<Checkpoint> open_llama2c(const std::filesystem::path& file);

}  // namespace smoothcheck::checkpoint
