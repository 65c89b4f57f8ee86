// The row loop both activation quantisers share (numerics.md §6): quantize_per_token gives each row the
// scale of its own absmax, quantize_per_tensor one given scale to every row. With a migration scale
// the activation is first multiplied by the f32 reciprocal of s_j (numerics::migration_reciprocal,
// computed once per channel), fused into the same pass; the product stays in f32. Threads own rows.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::kernels::cpu {

// The reciprocals of migration_scale[cols]; empty without a migration scale or without rows.
std::vector<float> migration_reciprocals(const float* migration_scale, int64_t rows, int64_t cols);

// Quantises every row of x into q. tensor_scale non-null: that scale for every row (per tensor); else
// each row's scale from its absmax, stored in row_scales[r] (per token). recip: migration_reciprocals'
// result, or nullptr.
void quantize_activation_rows(const ConstMatrix& x, const float* recip, const ActQuantOptions& o, MutMatrix q,
                              bool use_avx2, int threads, const float* tensor_scale, float* row_scales);

}  // namespace smoothcheck::kernels::cpu
