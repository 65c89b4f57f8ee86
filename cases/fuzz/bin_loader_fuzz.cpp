// libFuzzer target: the .bin loader's entry point, open_checkpoint on "<dir>/model.bin", which tells a
// torch.save zip archive (LibTorch's unpickler) from a llama2.c file by its signature. Every tensor an
// accepted file lists must come back with the dtype and size info() reports, or be refused by name.
//
// LibTorch is not instrumented, so coverage guidance stops at its boundary: this target checks that
// whatever the unpickler accepts or throws reaches the caller as a tensor or a CheckpointError.
#include <ATen/ATen.h>

#include "fuzz_support.h"
#include "harness/checkpoint/checkpoint.h"
#include "harness/checkpoint/model_dir.h"

SMOOTHCHECK_FUZZ_TARGET(bin_loader) {
  using smoothcheck::fuzz::fuzz_require;
  static const std::filesystem::path file = smoothcheck::fuzz::process_scratch_dir() / "model.bin";
  smoothcheck::fuzz::write_file(file, data, size);
  const auto checkpoint = smoothcheck::checkpoint::open_checkpoint(file);
  for (const std::string& name : checkpoint->tensor_names()) {
    const auto info = checkpoint->info(name);
    const at::Tensor t = checkpoint->tensor(name);
    fuzz_require(t.is_contiguous() && static_cast<std::uint64_t>(t.numel()) * t.element_size() == info.nbytes &&
                     t.sizes().vec() == info.shape,
                 "tensor('" + name + "') disagrees with info()");
  }
}
