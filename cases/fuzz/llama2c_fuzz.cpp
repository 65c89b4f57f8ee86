// libFuzzer target: the llama2.c legacy header (harness/checkpoint/llama2c_reader.h). An accepted file
// is exactly as long as its header implies, every exposed tensor is a slice of it, and the
// configuration the header implies passes the same validation as a config.json.
#include <vector>

#include "fuzz_support.h"
#include "harness/checkpoint/llama2c_reader.h"
#include "harness/checkpoint/llama_config.h"

SMOOTHCHECK_FUZZ_TARGET(llama2c) {
  using smoothcheck::fuzz::fuzz_require;
  static smoothcheck::fuzz::MemoryFile input;
  const smoothcheck::checkpoint::Llama2cFile file(input.rewrite(data, size));
  const auto& h = file.header();
  std::uint64_t exposed = 0;
  std::vector<std::uint8_t> buffer;
  for (const std::string& name : file.tensor_names()) {
    const auto& info = file.info(name);
    exposed += info.nbytes;
    fuzz_require(exposed <= size, "tensors expose more bytes than the file holds");
    buffer.assign(info.nbytes, 0);
    file.copy_to(name, buffer.data());
  }
  // Header, the tensors, and the two RoPE tables [seq_len, head_dim / 2] that are counted, not exposed.
  const std::uint64_t rope = static_cast<std::uint64_t>(h.seq_len) * static_cast<std::uint64_t>(h.dim / h.n_heads) * 4;
  fuzz_require(28 + exposed + rope == size, "file length differs from what the header implies");
  const auto config = smoothcheck::checkpoint::llama_config_from_llama2c(h);
  smoothcheck::checkpoint::validate_llama_config(config, file.path());  // a throw here would be a finding
}
