// Shared set-up of the pipeline cases: the stories260K layouts, a small calibration per layout
// computed once per process (a few short sequences keep the label fast), and a quantize helper.
#pragma once

#include <filesystem>
#include <string>

#include "checkpoint_test_support.h"
#include "harness/pipeline/quantize_export.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::testing {

// "hf", "hf-sharded-bin" or "llama2c" under <shared>/checkpoints/stories260K.
std::filesystem::path stories_layout(const std::filesystem::path& shared, const std::string& layout);

kernels::Backend& cpu_backend();

// Statistics of `layout` (4 sequences x 32 tokens, seed 7), written once per process into a scratch
// directory that lives until exit.
const std::filesystem::path& small_stats(const std::filesystem::path& shared, const std::string& layout);

// A scratch directory living until exit, for exports several cases read.
const std::filesystem::path& process_scratch();

// stories260K ("hf") with every tensor stored as bfloat16 (rounded to nearest even, as torch's
// .to(torch.bfloat16)) and config.json saying so: the model dtype most checkpoints ship in. Written
// once per process.
const std::filesystem::path& stories_bf16(const std::filesystem::path& shared);

}  // namespace smoothcheck::testing
