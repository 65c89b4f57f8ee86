#include "cases/property/step_runner.h"

#include <stdexcept>
#include <vector>

#include "harness/differential/case_helpers.h"
#include "harness/differential/host_tensor.h"

namespace smoothcheck::property {
namespace {

class ReferenceRunner final : public StepRunner {
 public:
  std::string name() const override { return "reference"; }
  bool supports(DType) const override { return true; }

  StatsResult channel_stats(const Matrix& x, DType) override {
    reference::BatchChannelStats s = reference::channel_stats(x);
    return {s.absmax, s.min, s.max, s.sum, s.abssum};
  }
  Vector weight_stat(const Matrix& w, DType, Recipe recipe) override { return reference::weight_stat({w}, recipe, 0); }
  Vector smooth_scale(const Vector& a, const Vector& w, const Vector& norm, Recipe recipe, float alpha) override {
    return reference::smooth_scale(a, w, norm, recipe, double(alpha));
  }
  Matrix scale_columns(const Matrix& w, const Vector& s, DType dtype) override {
    return reference::scale_columns(w, s, dtype);
  }
  Matrix divide_rows(const Matrix& w, const Vector& s, DType dtype) override {
    return reference::divide_rows(w, s, dtype);
  }
  CodesResult quantize_weight(const Matrix& w, DType dtype, WeightQuant variant) override {
    // In the weight's dtype where the variant divides in it (numerics.md §5), else the float64 ideal.
    reference::Quantized q = reference::weight_arithmetic_dtype(variant, dtype) != DType::f32
                                 ? reference::quantize_weight_stepwise(w, variant, dtype)
                                 : reference::quantize_weight(w, variant);
    return {q.codes, q.scale};
  }
  CodesResult quantize_per_token(const Matrix& x, DType, const Vector& s, const ActQuantOptions& o) override {
    reference::Quantized q = reference::quantize_per_token(x, s, o);
    return {q.codes, q.scale};
  }
  CodesResult quantize_per_tensor(const Matrix& x, DType, double scale, const ActQuantOptions& o) override {
    reference::Quantized q = reference::quantize_per_tensor(x, {}, scale, o);
    return {q.codes, q.scale};
  }
  Matrix gemm_s8s8s32(const Matrix& a, const Matrix& b) override { return reference::gemm_s8s8s32(a, b); }
  Matrix gemm_w8a8(const Matrix& a, const Matrix& b, const Vector& sa, const Vector& sb, const Vector& bias,
                   Epilogue epilogue, DType out_dtype) override {
    return reference::gemm_w8a8(reference::gemm_s8s8s32(a, b), sa, sb, bias, epilogue, out_dtype).rounded;
  }
};

std::vector<float> floats(const Vector& v) { return std::vector<float>(v.begin(), v.end()); }
Vector doubles(const std::vector<float>& v) { return Vector(v.begin(), v.end()); }

HostTensor tensor_of(const Matrix& m, DType dtype) { return make_tensor(dtype, m.rows, m.cols, 0, m.values); }

class BackendRunner final : public StepRunner {
 public:
  explicit BackendRunner(kernels::Backend& b) : b_(b) {}
  std::string name() const override { return b_.name(); }
  bool supports(DType dtype) const override { return dtype == DType::f32 || dtype == DType::f16 || dtype == DType::bf16; }

  StatsResult channel_stats(const Matrix& x, DType dtype) override {
    HostTensor t = tensor_of(x, dtype);
    const auto C = std::size_t(x.cols);
    std::vector<float> absmax(C), mn(C), mx(C), sum(C), abssum(C);
    b_.channel_stats(t.matrix(), {absmax.data(), mn.data(), mx.data(), sum.data(), abssum.data()});
    return {doubles(absmax), doubles(mn), doubles(mx), doubles(sum), doubles(abssum)};
  }
  Vector weight_stat(const Matrix& w, DType dtype, Recipe recipe) override {
    HostTensor t = tensor_of(w, dtype);
    std::vector<float> out(std::size_t(w.cols));
    kernels::ConstMatrix fc = t.matrix();
    b_.weight_stat(&fc, 1, recipe, 0, out.data());
    return doubles(out);
  }
  Vector smooth_scale(const Vector& a, const Vector& w, const Vector& norm, Recipe recipe, float alpha) override {
    std::vector<float> af = floats(a), wf = floats(w), nf = floats(norm), s(a.size());
    b_.smooth_scale(af.data(), wf.data(), norm.empty() ? nullptr : nf.data(), int64_t(a.size()), recipe, alpha, s.data());
    return doubles(s);
  }
  Matrix scale_columns(const Matrix& w, const Vector& s, DType dtype) override {
    HostTensor t = tensor_of(w, dtype);
    std::vector<float> sf = floats(s);
    b_.scale_columns(t.mut_matrix(), sf.data());
    return to_reference(t);
  }
  Matrix divide_rows(const Matrix& w, const Vector& s, DType dtype) override {
    HostTensor t = tensor_of(w, dtype);
    std::vector<float> sf = floats(s);
    b_.divide_rows(t.mut_matrix(), sf.data());
    return to_reference(t);
  }
  CodesResult quantize_weight(const Matrix& w, DType dtype, WeightQuant variant) override {
    HostTensor t = tensor_of(w, dtype);
    HostTensor q = make_output(DType::i8, w.rows, w.cols);
    std::vector<float> scale(std::size_t(w.rows));
    b_.quantize_weight(t.matrix(), variant, q.mut_matrix(), scale.data());
    return {to_reference(q), doubles(scale)};
  }
  CodesResult quantize_per_token(const Matrix& x, DType dtype, const Vector& s, const ActQuantOptions& o) override {
    HostTensor t = tensor_of(x, dtype);
    HostTensor q = make_output(DType::i8, x.rows, x.cols);
    std::vector<float> scale(std::size_t(x.rows)), sf = floats(s);
    b_.quantize_per_token(t.matrix(), s.empty() ? nullptr : sf.data(), o, q.mut_matrix(), scale.data());
    return {to_reference(q), doubles(scale)};
  }
  CodesResult quantize_per_tensor(const Matrix& x, DType dtype, double scale, const ActQuantOptions& o) override {
    HostTensor t = tensor_of(x, dtype);
    HostTensor q = make_output(DType::i8, x.rows, x.cols);
    b_.quantize_per_tensor(t.matrix(), nullptr, float(scale), o, q.mut_matrix());
    return {to_reference(q), {double(float(scale))}};
  }
  Matrix gemm_s8s8s32(const Matrix& a, const Matrix& b) override {
    HostTensor ta = tensor_of(a, DType::i8), tb = tensor_of(b, DType::i8);
    HostTensor acc = make_output(DType::i32, a.rows, b.rows);
    b_.gemm_s8s8s32(ta.matrix(), tb.matrix(), acc.mut_matrix());
    return to_reference(acc);
  }
  Matrix gemm_w8a8(const Matrix& a, const Matrix& b, const Vector& sa, const Vector& sb, const Vector& bias,
                   Epilogue epilogue, DType out_dtype) override {
    HostTensor ta = tensor_of(a, DType::i8), tb = tensor_of(b, DType::i8);
    HostTensor out = make_output(out_dtype, a.rows, b.rows);
    HostTensor bias_t = bias.empty() ? HostTensor() : make_tensor(out_dtype, 1, int64_t(bias.size()), 0, bias);
    std::vector<float> saf = floats(sa), sbf = floats(sb);
    kernels::ConstVector bias_v{bias.empty() ? nullptr : bias_t.data(), out_dtype, int64_t(bias.size())};
    b_.gemm_w8a8(ta.matrix(), tb.matrix(), saf.data(), sbf.data(), bias_v, epilogue, out.mut_matrix());
    return to_reference(out);
  }

 private:
  kernels::Backend& b_;
};

}  // namespace

std::unique_ptr<StepRunner> reference_runner() { return std::make_unique<ReferenceRunner>(); }
std::unique_ptr<StepRunner> backend_runner(kernels::Backend& backend) { return std::make_unique<BackendRunner>(backend); }

Matrix matrix_of(int64_t rows, int64_t cols, std::vector<double> values) {
  if (int64_t(values.size()) != rows * cols) throw std::invalid_argument("matrix_of: size does not match the shape");
  Matrix m(rows, cols);
  m.values = std::move(values);
  return m;
}

}  // namespace smoothcheck::property
