#include "cases/case_tables.h"

namespace smoothcheck::cases {

std::vector<Family> all_families() {
  return {channel_stats_family(),    weight_stat_family(),        smooth_scale_family(),
          apply_smoothing_family(),  quantize_weight_family(),    quantize_per_token_family(),
          quantize_per_tensor_family(), rmsnorm_quantize_family(), gemm_s8s8s32_family(),
          gemm_w8a8_family()};
}

const std::vector<int64_t>& hidden_sizes() {
  static const std::vector<int64_t> sizes = {1, 7, 17, 64, 1024, 1025, 1026, 4096, 5137, 8193, 11008};
  return sizes;
}

}  // namespace smoothcheck::cases
