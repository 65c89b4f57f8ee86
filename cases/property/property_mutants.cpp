#include "cases/property/property_mutants.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cases/differential/mutant_backends.h"
#include "kernels/cpu/cpu_backend_impl.h"
#include "kernels/cpu/dtype_io.h"

namespace smoothcheck::property_mutants {
namespace {

using kernels::ConstMatrix;
using kernels::CpuBackend;
using kernels::MutMatrix;

// Row r of x as f32, divided by the migration scale when there is one.
std::vector<float> row_values(ConstMatrix x, int64_t r, const float* migration_scale) {
  std::vector<float> v(std::size_t(x.cols));
  const void* row = kernels::cpu::row_ptr(x, r);
  for (int64_t c = 0; c < x.cols; ++c) {
    const float value = kernels::cpu::load_float(row, x.dtype, c);
    v[std::size_t(c)] = migration_scale ? value * (1.0f / migration_scale[c]) : value;
  }
  return v;
}

float absmax_of(const std::vector<float>& v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

float absmean_of(const std::vector<float>& v) {
  float sum = 0.0f;
  for (float x : v) sum += std::fabs(x);
  return v.empty() ? 0.0f : sum / float(v.size());
}

// Codes round(v / scale), saturated to int8 (so that no wrong scale makes the int8 store undefined).
void write_codes(const std::vector<float>& v, float scale, MutMatrix q, int64_t r) {
  auto* codes = static_cast<int8_t*>(kernels::cpu::row_ptr(q, r));
  for (std::size_t c = 0; c < v.size(); ++c)
    codes[c] = scale > 0.0f ? int8_t(std::clamp(std::nearbyint(v[c] / scale), -128.0f, 127.0f)) : int8_t(0);
}

// The per-token and weight quantisers with scale = statistic(row) / divisor, the statistic floored as
// the options say. Every override first runs the real kernel, for its argument checks.
class RowStatisticQuantizer : public CpuBackend {
 public:
  using Statistic = float (*)(const std::vector<float>&);
  RowStatisticQuantizer(Statistic statistic, float divisor) : statistic_(statistic), divisor_(divisor) {}

  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    CpuBackend::quantize_per_token(x, s, o, q, scale);
    for (int64_t r = 0; r < x.rows; ++r) {
      const std::vector<float> v = row_values(x, r, s);
      float m = statistic_(v);
      if (o.zero_row == ZeroRow::floor) m = std::max(m, o.absmax_floor);
      scale[r] = m / divisor_;
      write_codes(v, scale[r], q, r);
    }
  }
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    CpuBackend::quantize_weight(w, variant, q, scale);
    for (int64_t r = 0; r < w.rows; ++r) {
      const std::vector<float> v = row_values(w, r, nullptr);
      scale[r] = statistic_(v) / divisor_;
      write_codes(v, scale[r], q, r);
    }
  }

 private:
  Statistic statistic_;
  float divisor_;
};

class RowMaxStartingAtOne final : public CpuBackend {
 public:
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    ActQuantOptions wrong = o;  // the options' floors (1e-6, 1e-7) lie below 1: 1 replaces them
    wrong.zero_row = ZeroRow::floor;
    wrong.absmax_floor = 1.0f;
    CpuBackend::quantize_per_token(x, s, wrong, q, scale);
  }
};

class LmdeployNormaliserOverEveryChannel final : public CpuBackend {
 public:
  void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                    float alpha, float* s, DType arithmetic = DType::f32) override {
    if (recipe != Recipe::lmdeploy || !norm_weight)
      return CpuBackend::smooth_scale(a, w, norm_weight, channels, recipe, alpha, s, arithmetic);
    CpuBackend::smooth_scale(a, w, nullptr, channels, recipe, alpha, s, arithmetic);  // nz = every channel
    for (int64_t j = 0; j < channels; ++j)
      if (norm_weight[j] == 0.0f) s[j] = 1.0f;
  }
};

class ZeroRowScaleIgnoringTheFloor final : public CpuBackend {
 public:
  void quantize_per_token(ConstMatrix x, const float* s, const ActQuantOptions& o, MutMatrix q, float* scale) override {
    CpuBackend::quantize_per_token(x, s, o, q, scale);
    for (int64_t r = 0; r < x.rows; ++r)
      if (absmax_of(row_values(x, r, s)) == 0.0f) scale[r] = 0.0f;
  }
};

class RefusesEveryGemm final : public CpuBackend {
 public:
  void gemm_s8s8s32(ConstMatrix, ConstMatrix, MutMatrix) override {
    throw kernels::UnsupportedArguments("this build refuses every int8 GEMM (test mutant)");
  }
  void gemm_w8a8(ConstMatrix, ConstMatrix, const float*, const float*, kernels::ConstVector, Epilogue,
                 MutMatrix) override {
    throw kernels::UnsupportedArguments("this build refuses every int8 GEMM (test mutant)");
  }
};

}  // namespace

std::unique_ptr<kernels::Backend> differential_mutant(const std::string& name) {
  for (const mutants::Mutant& m : mutants::all_mutants())
    if (m.name == name) return m.make();
  return nullptr;
}

std::unique_ptr<kernels::Backend> seven_bit_scales() {
  return std::make_unique<RowStatisticQuantizer>(&absmax_of, 63.0f);
}
std::unique_ptr<kernels::Backend> row_max_starting_at_one() { return std::make_unique<RowMaxStartingAtOne>(); }
std::unique_ptr<kernels::Backend> absmean_scale_where_absmax_is_required() {
  return std::make_unique<RowStatisticQuantizer>(&absmean_of, 127.0f);
}
std::unique_ptr<kernels::Backend> lmdeploy_normaliser_over_every_channel() {
  return std::make_unique<LmdeployNormaliserOverEveryChannel>();
}
std::unique_ptr<kernels::Backend> zero_row_scale_ignoring_the_floor() {
  return std::make_unique<ZeroRowScaleIgnoringTheFloor>();
}

std::unique_ptr<kernels::Backend> refuses_every_gemm() { return std::make_unique<RefusesEveryGemm>(); }

}  // namespace smoothcheck::property_mutants
