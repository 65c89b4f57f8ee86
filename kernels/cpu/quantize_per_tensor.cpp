// numerics.md §6: static per-tensor int8 activation quantisation with a given scale
// (quantize_activation_rows.h holds the row loop it shares with quantize_per_token).
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/quantize_activation_rows.h"

namespace smoothcheck::kernels {

void CpuBackend::quantize_per_tensor(ConstMatrix x, const float* migration_scale, float scale,
                                     const ActQuantOptions& o, MutMatrix q) {
  validate_quantize_per_tensor(cpu::kBackend, x, scale, o, q);
  const std::vector<float> recip = cpu::migration_reciprocals(migration_scale, x.rows, x.cols);
  if (x.rows == 0 || x.cols == 0) return;
  cpu::quantize_activation_rows(x, recip.empty() ? nullptr : recip.data(), o, q, use_avx2(), threads(), &scale,
                                nullptr);
}

}  // namespace smoothcheck::kernels
