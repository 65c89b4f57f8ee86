// Shared set-up of the pipeline cases: the stories260K layouts, a small calibration per layout
// computed once per process (a few short sequences keep the label fast), and a quantize helper.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

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

// Every tensor of a checkpoint directory, by name, as owned copies: the start of a tampered copy.
std::map<std::string, at::Tensor> read_checkpoint_tensors(const std::filesystem::path& dir);

// `tensors` written as a sharded safetensors checkpoint in process_scratch()/<name> (replacing one of
// that name), with `from`'s config.json whose quantization_config `edit` may change.
std::filesystem::path write_edited_copy(const std::filesystem::path& from, const std::map<std::string, at::Tensor>& tensors,
                                        const std::string& name,
                                        const std::function<void(nlohmann::json&)>& edit_quantization_config = {});

}  // namespace smoothcheck::testing
