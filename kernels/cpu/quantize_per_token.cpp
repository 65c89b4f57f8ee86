// numerics.md §6: dynamic per-token int8 activation quantisation, each row by the scale of its own
// absmax (quantize_activation_rows.h holds the row loop it shares with quantize_per_tensor).
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/quantize_activation_rows.h"

namespace smoothcheck::kernels {

void CpuBackend::quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o,
                                    MutMatrix q, float* scale) {
  validate_quantize_per_token(cpu::kBackend, x, o, q, scale);
  const std::vector<float> recip = cpu::migration_reciprocals(migration_scale, x.rows, x.cols);
  if (x.rows == 0 || x.cols == 0) return;
  cpu::quantize_activation_rows(x, recip.empty() ? nullptr : recip.data(), o, q, use_avx2(), threads(), nullptr,
                                scale);
}

}  // namespace smoothcheck::kernels
