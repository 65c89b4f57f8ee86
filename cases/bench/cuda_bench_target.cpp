#include "cases/bench/cuda_bench_target.h"

#include <string>

#include "cases/bench/cublaslt_ceiling.h"
#include "cases/bench/cuda_device_inputs.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch_plan.h"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::bench {
namespace {

using kernels::ConstMatrix;
using kernels::ConstVector;
using kernels::MutMatrix;
using kernels::MutVector;
namespace launch = kernels::cuda_launch;
namespace plan = kernels::cuda_plan;

class CudaBenchTarget final : public KernelBenchTarget {
 public:
  CudaBenchTarget(const L2Flusher* flusher, double copy_bandwidth) : flusher_(flusher), copy_bandwidth_(copy_bandwidth) {}

  void* bell_floats(const char* role, DType dtype, int64_t rows, int64_t cols, uint64_t seed) override {
    return float_tensor(role, dtype, rows, cols, seed).data();
  }
  float* positive_floats(const char* role, int64_t count, uint64_t seed) override {
    return positive(role, count, seed).as<float>();
  }
  float* power_of_two_pairs(const char* role, int64_t count, uint64_t seed) override {
    return power_of_two_pair(role, count, seed).as<float>();
  }
  void* zeroed_output(const char* role, DType dtype, int64_t count) override {
    return scratch(role, std::size_t(count) * dtype_size(dtype)).data();
  }
  ConstVector norm_weight(DType, int64_t channels, uint64_t seed) override {
    return ConstVector{positive("norm_w_f32", channels, seed).as<float>(), DType::f32, channels};
  }

  Call channel_stats(ConstMatrix x, kernels::ChannelStatsOut out) override {
    return [=] { launch::channel_stats(x, out, kBenchStream); };
  }

  // One fc: accumulate (first = true) then finalize, as the backend runs a group of one.
  Call weight_stat(ConstMatrix fc, Recipe recipe, float* w) override {
    float* row_absmax = scratch("row_absmax", std::size_t(fc.rows) * 4).as<float>();
    double* acc = scratch("wstat_acc", std::size_t(fc.cols) * 8).as<double>();
    return [=] {
      launch::weight_stat_accumulate(fc, recipe, 0, row_absmax, acc, true, DType::f32, kBenchStream);
      launch::weight_stat_finalize(acc, fc.cols, recipe, fc.rows, w, DType::f32, kBenchStream);
    };
  }

  Call smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                    float alpha, float* s) override {
    return [=] { launch::smooth_scale(a, w, norm_weight, channels, recipe, alpha, s, DType::f32, kBenchStream); };
  }
  Call scale_columns(MutMatrix w, const float* s) override {
    return [=] { launch::scale_columns(w, s, kBenchStream); };
  }
  Call divide_rows(MutMatrix w, const float* s) override {
    return [=] { launch::divide_rows(w, s, kBenchStream); };
  }
  Call divide_vector(MutVector v, const float* s) override {
    return [=] { launch::divide_vector(v, s, kBenchStream); };
  }
  Call quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    return [=] { launch::quantize_weight(w, variant, q, scale, kBenchStream); };
  }

  // The backend turns s into f32 reciprocals once per call before the quantiser; here they are formed
  // once, outside the timed loop, and only the quantiser is timed.
  Call quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o, MutMatrix q,
                          float* scale) override {
    float* recip = nullptr;
    if (migration_scale) {
      recip = scratch("recip", std::size_t(x.cols) * 4).as<float>();
      launch::migration_reciprocals(migration_scale, x.cols, recip, kBenchStream);
      SC_CUDA_CHECK(cudaStreamSynchronize(kBenchStream));
    }
    return [=] { launch::quantize_per_token(x, recip, o, q, scale, kBenchStream); };
  }
  Call quantize_per_tensor(ConstMatrix x, float scale, const ActQuantOptions& o, MutMatrix q) override {
    return [=] { launch::quantize_per_tensor(x, nullptr, scale, o, q, kBenchStream); };
  }
  Call rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override {
    const float* w = static_cast<const float*>(norm_w.data);  // norm_weight(): f32
    return [=] { launch::rmsnorm_quantize(x, w, eps, o, q, scale, kBenchStream); };
  }

  // The project's mma.sync GEMM on padded operands (as the backend lays them out); out i32 = raw
  // accumulators, else the fused epilogue into that dtype.
  Call gemm(int64_t m, int64_t n, int64_t k, uint64_t a_seed, uint64_t b_seed, const float* scale_a,
            const float* scale_b, Epilogue epilogue, MutMatrix out, bool prepacked) override {
    if (prepacked) throw kernels::KernelError("the CUDA launchers have no packed weight layout");
    plan::GemmPlan p;
    const std::string why = plan::plan_gemm(m, n, k, &p);
    if (!why.empty()) throw kernels::KernelError(why);  // the row's error (guard_exceptions), nothing timed
    const int8_t* a = int8_padded("mma_a", m, k, p.m_pad, p.k_pad, a_seed).as<int8_t>();
    const int8_t* b = int8_padded("mma_b", n, k, p.n_pad, p.k_pad, b_seed).as<int8_t>();
    const launch::EpilogueArgs ep{scale_a, scale_b, nullptr, epilogue};
    return [=] { launch::gemm_mma(a, b, p, ep, out.data, out.dtype, n, kBenchStream); };
  }

  void time_bandwidth(benchmark::State& st, const Call& call, double bytes_per_call) override {
    const double seconds = timed_loop(st, call);
    const double total = bytes_per_call * double(st.iterations());
    st.SetBytesProcessed(int64_t(total));
    if (copy_bandwidth_ > 0 && seconds > 0) st.counters["frac_d2d_copy_bw"] = total / seconds / copy_bandwidth_;
  }
  void time_gemm(benchmark::State& st, const Call& call, int64_t m, int64_t n, int64_t k) override {
    report_gemm(st, timed_loop(st, call), m, n, k, flusher_);
  }

 private:
  // The timed loop; returns the summed event times, the manual time Google Benchmark divides by.
  double timed_loop(benchmark::State& st, const Call& call) const {
    double seconds = 0.0;
    for (auto _ : st) {
      CudaEventTimer timer(st, flusher_, kBenchStream, &seconds);
      call();
    }
    return seconds;
  }

  const L2Flusher* flusher_;
  double copy_bandwidth_;
};

}  // namespace

std::unique_ptr<KernelBenchTarget> make_cuda_bench_target(const L2Flusher* flusher, double copy_bandwidth) {
  return std::make_unique<CudaBenchTarget>(flusher, copy_bandwidth);
}

}  // namespace smoothcheck::bench
