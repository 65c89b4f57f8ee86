#include "harness/backends.h"

#include <stdexcept>

#include "kernels/cpu/cpu_backend.h"
#ifdef SMOOTHCHECK_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif
#ifdef SMOOTHCHECK_HAVE_CUDA_EMULATION
#include "kernels/cuda_emulation/emulated_backend.h"
#endif

namespace smoothcheck {

namespace {

// Stands in for a backend that this build or machine cannot provide; every kernel call is refused.
class UnavailableBackend final : public kernels::Backend {
 public:
  UnavailableBackend(std::string name, std::string why) : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }
  bool available(std::string* why_not) const override {
    if (why_not) *why_not = why_;
    return false;
  }
  void channel_stats(kernels::ConstMatrix, kernels::ChannelStatsOut) override { refuse(); }
  void weight_stat(const kernels::ConstMatrix*, int, Recipe, int64_t, float*, DType) override { refuse(); }
  void smooth_scale(const float*, const float*, const float*, int64_t, Recipe, float, float*, DType) override { refuse(); }
  void scale_columns(kernels::MutMatrix, const float*) override { refuse(); }
  void divide_rows(kernels::MutMatrix, const float*) override { refuse(); }
  void divide_vector(kernels::MutVector, const float*) override { refuse(); }
  void quantize_weight(kernels::ConstMatrix, WeightQuant, kernels::MutMatrix, float*) override { refuse(); }
  void quantize_per_token(kernels::ConstMatrix, const float*, const ActQuantOptions&, kernels::MutMatrix, float*) override { refuse(); }
  void quantize_per_tensor(kernels::ConstMatrix, const float*, float, const ActQuantOptions&, kernels::MutMatrix) override { refuse(); }
  void rmsnorm_quantize(kernels::ConstMatrix, kernels::ConstVector, float, const ActQuantOptions&, kernels::MutMatrix, float*) override { refuse(); }
  void gemm_s8s8s32(kernels::ConstMatrix, kernels::ConstMatrix, kernels::MutMatrix) override { refuse(); }
  void gemm_w8a8(kernels::ConstMatrix, kernels::ConstMatrix, const float*, const float*, kernels::ConstVector, Epilogue,
                 kernels::MutMatrix) override { refuse(); }

 private:
  [[noreturn]] void refuse() const { throw kernels::KernelError(name_ + " is not available: " + why_); }
  std::string name_, why_;
};

std::unique_ptr<kernels::Backend> make_cpu(const std::string& name, kernels::CpuIsa isa) {
  if (isa == kernels::CpuIsa::avx2 && !kernels::cpu_supports_avx2())
    return std::make_unique<UnavailableBackend>(name, "this CPU has no AVX2/FMA/F16C");
  return kernels::make_cpu_backend({isa, 0});
}

}  // namespace

std::vector<std::string> backend_names() {
  return {"cpu", "cpu-scalar", "cpu-avx2", "cuda", "cuda-cublaslt", "cuda-emulated"};
}

std::unique_ptr<kernels::Backend> make_backend(const std::string& name) {
  if (name == "cpu") return make_cpu(name, kernels::CpuIsa::best);
  if (name == "cpu-scalar") return make_cpu(name, kernels::CpuIsa::scalar);
  if (name == "cpu-avx2") return make_cpu(name, kernels::CpuIsa::avx2);
  if (name == "cuda" || name == "cuda-cublaslt") {
#ifdef SMOOTHCHECK_HAVE_CUDA
    kernels::CudaBackendOptions options;
    options.gemm = name == "cuda" ? kernels::CudaGemmEngine::mma : kernels::CudaGemmEngine::cublaslt;
    return kernels::make_cuda_backend(options);
#else
    return std::make_unique<UnavailableBackend>(name, "built without CUDA (nvcc not found or SMOOTHCHECK_ENABLE_CUDA=OFF)");
#endif
  }
  if (name == "cuda-emulated") {
#ifdef SMOOTHCHECK_HAVE_CUDA_EMULATION
    return kernels::make_cuda_backend_emulated({});
#else
    return std::make_unique<UnavailableBackend>(name, "built without the CUDA emulation (needs gcc on x86-64; off in the sanitizer presets)");
#endif
  }
  std::string known;
  for (const std::string& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown backend '" + name + "' (known: " + known + ")");
}

}  // namespace smoothcheck
