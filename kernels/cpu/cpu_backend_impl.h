// The CPU backend's class, public so that test-only targets (mutants for the differential runner) can
// subclass it and override one kernel. Each kernel's definition lives in the file of its step
// (channel_stats.cpp, gemm_s8s8s32.cpp, ...); the AVX2 inner loops are in the matching *_avx2.cpp.
#pragma once

#include <string>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::kernels {

namespace cpu {
// The backend's name in its argument errors (argument_contract.h): "cpu.<kernel>: ...", whichever ISA runs.
inline constexpr char kBackend[] = "cpu";
}  // namespace cpu

class CpuBackend : public Backend {
 public:
  // Resolves CpuIsa::best and threads = 0; throws KernelError when the ISA is not supported here.
  explicit CpuBackend(const CpuBackendOptions& options = {});

  std::string name() const override;  // "cpu-avx2" or "cpu-scalar"
  bool available(std::string* why_not) const override;

  void channel_stats(ConstMatrix x, ChannelStatsOut out) override;
  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override;
  void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                    float alpha, float* s, DType arithmetic = DType::f32) override;
  void scale_columns(MutMatrix w, const float* s) override;
  void divide_rows(MutMatrix w, const float* s) override;
  void divide_vector(MutVector v, const float* s) override;
  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override;
  void quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o, MutMatrix q,
                          float* scale) override;
  void quantize_per_tensor(ConstMatrix x, const float* migration_scale, float scale, const ActQuantOptions& o,
                           MutMatrix q) override;
  void rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override;
  void gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) override;
  void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* scale_a, const float* scale_b, ConstVector bias,
                 Epilogue epilogue, MutMatrix out) override;
  // A weight packed by a CpuBackend of either ISA is read by both (the portable path restores b's rows
  // from the AVX2 path's panels); one packed by another backend class is refused.
  std::unique_ptr<PackedGemmWeight> pack_gemm_weight(ConstMatrix b) override;
  void gemm_s8s8s32_packed(ConstMatrix a, const PackedGemmWeight& b, MutMatrix acc) override;
  void gemm_w8a8_packed(ConstMatrix a, const PackedGemmWeight& b, const float* scale_a, const float* scale_b,
                        ConstVector bias, Epilogue epilogue, MutMatrix out) override;

  CpuIsa isa() const { return isa_; }  // never CpuIsa::best
  int threads() const { return threads_; }

 protected:
  bool use_avx2() const { return isa_ == CpuIsa::avx2; }

 private:
  CpuIsa isa_;
  int threads_;
};

}  // namespace smoothcheck::kernels
