// Every kernel family's case table. A case is one row; adding a case is one line in its table.
#pragma once

#include <vector>

#include "harness/case_runner.h"

namespace smoothcheck::cases {

Family channel_stats_family();
Family weight_stat_family();
Family smooth_scale_family();
Family apply_smoothing_family();
Family quantize_weight_family();
Family quantize_per_token_family();
Family quantize_per_tensor_family();
Family rmsnorm_quantize_family();
Family gemm_s8s8s32_family();
Family gemm_w8a8_family();

std::vector<Family> all_families();

// The shapes numerics.md §9 and the foundation issue name: vector tails (17, 1025, 1026, 5137, 8193),
// powers of two, and the LLaMA-2-7B hidden and intermediate sizes.
const std::vector<int64_t>& hidden_sizes();

}  // namespace smoothcheck::cases
