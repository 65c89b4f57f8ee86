// CudaBackend: the argument contract (kernels/argument_contract.h, shared with every backend), the
// documented limits of its own engines, host <-> device copies and the choice of GEMM engine around the
// launchers of kernels/cuda/*.cu. Each call is synchronous: it returns after its results are back in
// the host views (so a kernel's execution error is thrown by the call that launched it).
#include "kernels/cuda/cuda_backend.h"

#include <string>
#include <vector>

#include "kernels/argument_contract.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch_plan.h"
#include "kernels/cuda/launchers.h"
#include "kernels/numerics.h"

namespace smoothcheck::kernels {
namespace {

using cuda_detail::DeviceBuffer;
using cuda_detail::DeviceMatrix;
namespace launch = cuda_launch;

// The backend's name in its argument errors: "cuda.<kernel>: ...", for either GEMM engine and for the
// CPU emulation, which runs this same source.
constexpr char kBackend[] = "cuda";
constexpr std::size_t kCublasLtWorkspace = std::size_t(32) << 20;

// A float vector of any float dtype, converted exactly to f32 (numerics.h conversions).
std::vector<float> to_f32(const ConstVector& v) {
  std::vector<float> out(std::size_t(v.size > 0 ? v.size : 0));
  for (int64_t i = 0; i < v.size; ++i) {
    switch (v.dtype) {
      case DType::f32: out[i] = static_cast<const float*>(v.data)[i]; break;
      case DType::f16: out[i] = numerics::f16_to_float(static_cast<const uint16_t*>(v.data)[i]); break;
      case DType::bf16: out[i] = numerics::bf16_to_float(static_cast<const uint16_t*>(v.data)[i]); break;
      default: throw KernelError(std::string("vector dtype ") + to_string(v.dtype) + " not supported");
    }
  }
  return out;
}

// An int8 operand copied into a zero-filled [rows_pad, k_pad] device buffer (launch_plan.h GemmPlan).
DeviceBuffer upload_padded_i8(const ConstMatrix& host, int64_t rows_pad, int64_t k_pad) {
  DeviceBuffer d(std::size_t(rows_pad) * std::size_t(k_pad));
  if (d.bytes() == 0) return d;
  SC_CUDA_CHECK(cudaMemset(d.data(), 0, d.bytes()));
  if (host.rows > 0 && host.cols > 0)
    SC_CUDA_CHECK(cudaMemcpy2D(d.data(), std::size_t(k_pad), host.data, std::size_t(host.row_stride),
                               std::size_t(host.cols), std::size_t(host.rows), cudaMemcpyHostToDevice));
  return d;
}
// A compact [rows, cols] device copy (row stride cols), as cuBLASLt's leading dimensions want.
DeviceBuffer upload_compact(const ConstMatrix& host) {
  const std::size_t elem = dtype_size(host.dtype);
  DeviceBuffer d(std::size_t(host.rows) * std::size_t(host.cols) * elem);
  if (d.bytes() > 0)
    SC_CUDA_CHECK(cudaMemcpy2D(d.data(), std::size_t(host.cols) * elem, host.data, std::size_t(host.row_stride) * elem,
                               std::size_t(host.cols) * elem, std::size_t(host.rows), cudaMemcpyHostToDevice));
  return d;
}
void download_compact(const DeviceBuffer& d, const MutMatrix& host) {
  const std::size_t elem = dtype_size(host.dtype);
  if (host.rows > 0 && host.cols > 0)
    SC_CUDA_CHECK(cudaMemcpy2D(host.data, std::size_t(host.row_stride) * elem, d.data(), std::size_t(host.cols) * elem,
                               std::size_t(host.cols) * elem, std::size_t(host.rows), cudaMemcpyDeviceToHost));
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& options) : options_(options) {}
  ~CudaBackend() override {
    if (lt_handle_) cublasLtDestroy(lt_handle_);
  }

  std::string name() const override {
#if defined(SC_CUDA_EMULATION)
    return "cuda-emulated";  // this source and the kernels' executed on the CPU (kernels/cuda_emulation/)
#else
    return std::string("cuda-") + to_string(options_.gemm);
#endif
  }

  bool available(std::string* why_not) const override {
    std::string why = why_unavailable();
    if (why_not) *why_not = why;
    return why.empty();
  }

  void channel_stats(ConstMatrix x, ChannelStatsOut out) override {
    validate_channel_stats(kBackend, x);
    if (x.rows == 0 || x.cols == 0) return;
    activate();
    const DeviceMatrix dx = cuda_detail::upload(x);
    float* host[5] = {out.absmax, out.min, out.max, out.sum, out.abssum};
    DeviceBuffer dev[5];
    for (int i = 0; i < 5; ++i)
      if (host[i]) dev[i] = DeviceBuffer(std::size_t(x.cols) * sizeof(float));
    launch::channel_stats(dx.view(),
                          ChannelStatsOut{dev[0].as<float>(), dev[1].as<float>(), dev[2].as<float>(),
                                          dev[3].as<float>(), dev[4].as<float>()},
                          stream());
    for (int i = 0; i < 5; ++i)
      if (host[i]) cuda_detail::download_array(dev[i], host[i], x.cols);
  }

  void weight_stat(const ConstMatrix* fcs, int fc_count, Recipe recipe, int64_t group_size, float* w,
                   DType arithmetic = DType::f32) override {
    validate_weight_stat(kBackend, fcs, fc_count, recipe, group_size, w, arithmetic);
    const int64_t cols = fcs[0].cols;
    int64_t total_rows = 0;
    for (int i = 0; i < fc_count; ++i) total_rows += fcs[i].rows;
    if (cols == 0 || total_rows == 0) return;  // nothing to average: w is not written, as on every backend
    // The contract has checked that group_size divides the columns; this is the launch's group count.
    const int64_t groups = recipe == Recipe::lmdeploy ? cuda_plan::weight_groups_per_row(cols, group_size, nullptr) : 1;
    activate();
    const bool lmdeploy = recipe == Recipe::lmdeploy;
    DeviceBuffer acc(std::size_t(cols) * sizeof(double));
    DeviceBuffer row_absmax(lmdeploy ? std::size_t(total_rows * groups) * sizeof(float) : 0);
    // lmdeploy clamps every row absmax to 1e-4 only when the smallest of the whole stack is 0 (awq.py
    // get_weight_scale): every fc's absmax first, one clamp decision, then the columns.
    std::vector<DeviceMatrix> uploaded;
    for (int i = 0; i < fc_count; ++i)
      if (fcs[i].rows > 0) uploaded.push_back(cuda_detail::upload(fcs[i]));
    if (lmdeploy) {
      int64_t offset = 0;
      for (const DeviceMatrix& d : uploaded) {
        launch::weight_stat_row_absmax(d.view(), group_size, row_absmax.as<float>() + offset, stream());
        offset += d.rows * groups;
      }
      launch::weight_stat_clamp_row_absmax(row_absmax.as<float>(), total_rows * groups, arithmetic, stream());
    }
    int64_t offset = 0;
    for (std::size_t i = 0; i < uploaded.size(); ++i) {
      launch::weight_stat_accumulate_columns(uploaded[i].view(), recipe, group_size,
                                             lmdeploy ? row_absmax.as<float>() + offset : nullptr, acc.as<double>(),
                                             i == 0, arithmetic, stream());
      offset += uploaded[i].rows * groups;
    }
    SC_CUDA_CHECK(cudaStreamSynchronize(stream()));  // before `uploaded` is freed
    DeviceBuffer dw(std::size_t(cols) * sizeof(float));
    launch::weight_stat_finalize(acc.as<double>(), cols, recipe, total_rows, dw.as<float>(), arithmetic, stream());
    cuda_detail::download_array(dw, w, cols);
  }

  void smooth_scale(const float* a, const float* w, const float* norm_weight, int64_t channels, Recipe recipe,
                    float alpha, float* s, DType arithmetic = DType::f32) override {
    validate_smooth_scale(kBackend, a, w, channels, recipe, alpha, s, arithmetic);
    if (channels == 0) return;
    activate();
    const DeviceBuffer da = cuda_detail::upload_array(a, channels), dw = cuda_detail::upload_array(w, channels);
    const DeviceBuffer dn = norm_weight ? cuda_detail::upload_array(norm_weight, channels) : DeviceBuffer();
    DeviceBuffer ds(std::size_t(channels) * sizeof(float));
    launch::smooth_scale(da.as<float>(), dw.as<float>(), dn.as<float>(), channels, recipe, alpha, ds.as<float>(),
                         arithmetic, stream());
    cuda_detail::download_array(ds, s, channels);
  }

  void scale_columns(MutMatrix w, const float* s) override {
    validate_scale_columns(kBackend, w, s);
    apply_in_place(w, s, w.cols, &launch::scale_columns);
  }
  void divide_rows(MutMatrix w, const float* s) override {
    validate_divide_rows(kBackend, w, s);
    apply_in_place(w, s, w.rows, &launch::divide_rows);
  }
  void divide_vector(MutVector v, const float* s) override {
    validate_divide_vector(kBackend, v, s);
    if (v.size == 0) return;
    activate();
    const DeviceMatrix d = cuda_detail::upload(ConstMatrix{v.data, v.dtype, 1, v.size, v.size});
    const DeviceBuffer ds = cuda_detail::upload_array(s, v.size);
    launch::divide_vector(MutVector{d.data, v.dtype, v.size}, ds.as<float>(), stream());
    cuda_detail::download(d, MutMatrix{v.data, v.dtype, 1, v.size, v.size});
  }

  void quantize_weight(ConstMatrix w, WeightQuant variant, MutMatrix q, float* scale) override {
    validate_quantize_weight(kBackend, w, variant, q, scale);
    if (w.rows == 0) return;
    activate();
    const DeviceMatrix dw = cuda_detail::upload(w);
    const DeviceMatrix dq = cuda_detail::device_layout_like(q.as_const());
    DeviceBuffer dscale(std::size_t(w.rows) * sizeof(float));
    launch::quantize_weight(dw.view(), variant, dq.mut_view(), dscale.as<float>(), stream());
    cuda_detail::download(dq, q);
    cuda_detail::download_array(dscale, scale, w.rows);
  }

  void quantize_per_token(ConstMatrix x, const float* migration_scale, const ActQuantOptions& o, MutMatrix q,
                          float* scale) override {
    validate_quantize_per_token(kBackend, x, o, q, scale);
    if (x.rows == 0) return;
    activate();
    const DeviceMatrix dx = cuda_detail::upload(x);
    const DeviceMatrix dq = cuda_detail::device_layout_like(q.as_const());
    const DeviceBuffer recip = reciprocals(migration_scale, x.cols);
    DeviceBuffer dscale(std::size_t(x.rows) * sizeof(float));
    launch::quantize_per_token(dx.view(), recip.as<float>(), o, dq.mut_view(), dscale.as<float>(), stream());
    cuda_detail::download(dq, q);
    cuda_detail::download_array(dscale, scale, x.rows);
  }

  void quantize_per_tensor(ConstMatrix x, const float* migration_scale, float scale, const ActQuantOptions& o,
                           MutMatrix q) override {
    validate_quantize_per_tensor(kBackend, x, scale, o, q);
    if (x.rows == 0 || x.cols == 0) return;
    activate();
    const DeviceMatrix dx = cuda_detail::upload(x);
    const DeviceMatrix dq = cuda_detail::device_layout_like(q.as_const());
    const DeviceBuffer recip = reciprocals(migration_scale, x.cols);
    launch::quantize_per_tensor(dx.view(), recip.as<float>(), scale, o, dq.mut_view(), stream());
    cuda_detail::download(dq, q);
  }

  void rmsnorm_quantize(ConstMatrix x, ConstVector norm_w, float eps, const ActQuantOptions& o, MutMatrix q,
                        float* scale) override {
    validate_rmsnorm_quantize(kBackend, x, norm_w, eps, o, q, scale);
    if (x.rows == 0) return;
    activate();
    const std::vector<float> w32 = to_f32(norm_w);
    const DeviceBuffer dw = cuda_detail::upload_array(w32.data(), x.cols);
    const DeviceMatrix dx = cuda_detail::upload(x);
    const DeviceMatrix dq = cuda_detail::device_layout_like(q.as_const());
    DeviceBuffer dscale(std::size_t(x.rows) * sizeof(float));
    launch::rmsnorm_quantize(dx.view(), dw.as<float>(), eps, o, dq.mut_view(), dscale.as<float>(), stream());
    cuda_detail::download(dq, q);
    cuda_detail::download_array(dscale, scale, x.rows);
  }

  void gemm_s8s8s32(ConstMatrix a, ConstMatrix b, MutMatrix acc) override {
    validate_gemm_s8s8s32(kBackend, a, b, acc);
    gemm(a, b, launch::EpilogueArgs{}, acc);
  }

  void gemm_w8a8(ConstMatrix a, ConstMatrix b, const float* scale_a, const float* scale_b, ConstVector bias,
                 Epilogue epilogue, MutMatrix out) override {
    validate_gemm_w8a8(kBackend, a, b, scale_a, scale_b, bias, epilogue, out);
    if (a.rows == 0 || b.rows == 0) return;
    activate();
    const DeviceBuffer sa = cuda_detail::upload_array(scale_a, a.rows), sb = cuda_detail::upload_array(scale_b, b.rows);
    const std::vector<float> bias32 = bias.data ? to_f32(bias) : std::vector<float>();
    const DeviceBuffer dbias = cuda_detail::upload_array(bias32.data(), int64_t(bias32.size()));
    gemm(a, b, launch::EpilogueArgs{sa.as<float>(), sb.as<float>(), bias.data ? dbias.as<float>() : nullptr, epilogue},
         out);
  }

 private:
  std::string why_unavailable() const {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();  // clear it: a later call must not see it
      return std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
    }
    if (count == 0) return "no CUDA device";
    if (options_.device < 0 || options_.device >= count)
      return "CUDA device " + std::to_string(options_.device) + " requested, " + std::to_string(count) + " present";
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, options_.device) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, options_.device) != cudaSuccess) {
      cudaGetLastError();
      return "CUDA device " + std::to_string(options_.device) + ": cannot read its compute capability";
    }
    if (major < 8)
      return "CUDA device " + std::to_string(options_.device) + " is sm_" + std::to_string(major * 10 + minor) +
             "; the int8 mma.sync kernels need sm_80 or later";
    return std::string();
  }

  void activate() { SC_CUDA_CHECK(cudaSetDevice(options_.device)); }
  cudaStream_t stream() const { return nullptr; }  // the legacy default stream: every call is synchronous

  DeviceBuffer reciprocals(const float* migration_scale, int64_t cols) {
    if (!migration_scale || cols == 0) return DeviceBuffer();
    const DeviceBuffer ds = cuda_detail::upload_array(migration_scale, cols);
    DeviceBuffer recip(std::size_t(cols) * sizeof(float));
    launch::migration_reciprocals(ds.as<float>(), cols, recip.as<float>(), stream());
    SC_CUDA_CHECK(cudaStreamSynchronize(stream()));  // before `ds` is freed
    return recip;
  }

  void apply_in_place(MutMatrix w, const float* s, int64_t n, void (*kernel)(MutMatrix, const float*, cudaStream_t)) {
    if (w.rows == 0 || w.cols == 0) return;
    activate();
    const DeviceMatrix d = cuda_detail::upload(w.as_const());
    const DeviceBuffer ds = cuda_detail::upload_array(s, n);
    kernel(d.mut_view(), ds.as<float>(), stream());
    cuda_detail::download(d, w);
  }

  // out: i32 (raw accumulators) or a float dtype with the epilogue.
  void gemm(const ConstMatrix& a, const ConstMatrix& b, const launch::EpilogueArgs& ep, const MutMatrix& out) {
    const int64_t m = a.rows, n = b.rows, k = a.cols;
    if (options_.gemm == CudaGemmEngine::cublaslt) {
      const std::string violated = cuda_plan::cublaslt_int8_constraint(m, n, k);
      if (!violated.empty()) throw UnsupportedArguments(violated);  // a documented limit: the harness waives the case
    }
    if (m == 0 || n == 0) return;
    activate();
    DeviceBuffer dout(std::size_t(m) * std::size_t(n) * dtype_size(out.dtype));
    if (options_.gemm == CudaGemmEngine::mma) {
      cuda_plan::GemmPlan plan;
      const std::string why = cuda_plan::plan_gemm(m, n, k, &plan);
      if (!why.empty()) throw KernelError(why);
      const DeviceBuffer da = upload_padded_i8(a, plan.m_pad, plan.k_pad);
      const DeviceBuffer db = upload_padded_i8(b, plan.n_pad, plan.k_pad);
      launch::gemm_mma(da.as<int8_t>(), db.as<int8_t>(), plan, ep, dout.data(), out.dtype, n, stream());
      download_compact(dout, out);
      return;
    }
    const DeviceBuffer da = upload_compact(a), db = upload_compact(b);
    ensure_cublaslt();
    if (out.dtype == DType::i32) {
      launch::cublaslt_gemm_s8s8s32(lt_handle_, da.as<int8_t>(), db.as<int8_t>(), dout.as<int32_t>(), m, n, k,
                                    lt_workspace_.data(), lt_workspace_.bytes(), stream());
    } else {
      DeviceBuffer acc(std::size_t(m) * std::size_t(n) * sizeof(int32_t));
      launch::cublaslt_gemm_s8s8s32(lt_handle_, da.as<int8_t>(), db.as<int8_t>(), acc.as<int32_t>(), m, n, k,
                                    lt_workspace_.data(), lt_workspace_.bytes(), stream());
      launch::gemm_epilogue(acc.as<int32_t>(), n, m, n, ep, dout.data(), out.dtype, n, stream());
      SC_CUDA_CHECK(cudaStreamSynchronize(stream()));
    }
    download_compact(dout, out);
  }

  void ensure_cublaslt() {
    if (!lt_handle_) SC_CUBLAS_CHECK(cublasLtCreate(&lt_handle_));
    if (!lt_workspace_.data()) lt_workspace_ = DeviceBuffer(kCublasLtWorkspace);
  }

  CudaBackendOptions options_;
  cublasLtHandle_t lt_handle_ = nullptr;
  DeviceBuffer lt_workspace_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options) {
  return std::make_unique<CudaBackend>(options);
}

}  // namespace smoothcheck::kernels
