// llama2.c "legacy" checkpoints (Karpathy's run.c format, layout in
// shared/checkpoints/stories260K/README.md): seven int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len; vocab_size < 0 means an untied classifier follows the RoPE
// tables), then float32 arrays stacked over layers.
//
// Tensors are exposed under their Hugging Face LLaMA names, with q_proj/k_proj rows permuted from
// Meta's interleaved RoPE pairs (2i, 2i+1) to the rotate_half halves (i, i + head_dim/2) exactly as
// transformers' convert_llama_weights_to_hf.py permutes them. So every layout smoothcheck reads
// follows one RoPE convention (rotate_half) and the forward pass has a single RoPE; a smoothing
// scale computed on one layout applies to the other after the same permutation of q/k rows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/checkpoint/mapped_file.h"
#include "harness/checkpoint/tensor_info.h"

namespace smoothcheck::checkpoint {

struct Llama2cHeader {
  std::int32_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;  // vocab_size was positive in the file
};

class Llama2cFile {
 public:
  // Validates the header (positive dimensions, n_heads | dim, n_kv_heads | n_heads, even head_dim)
  // and that the file holds exactly the float32 arrays they imply, in 64-bit arithmetic that
  // refuses overflow; throws CheckpointError naming the file and the problem.
  explicit Llama2cFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const Llama2cHeader& header() const { return header_; }
  std::vector<std::string> tensor_names() const;  // sorted HF names
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  // Writes the named tensor (float32, HF layout, q/k permuted) to dst; throws when absent.
  void copy_to(const std::string& name, void* dst) const;

 private:
  struct Slice {
    TensorInfo info;
    std::uint64_t float_offset = 0;  // in floats from the first array
    std::int64_t rope_heads = 0;     // > 0: permute rows for rotate_half with this many heads
  };

  MappedFile file_;
  Llama2cHeader header_;
  std::map<std::string, Slice> tensors_;
};

}  // namespace smoothcheck::checkpoint
