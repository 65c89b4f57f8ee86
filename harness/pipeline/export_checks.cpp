#include "harness/pipeline/export_checks.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include <ATen/ATen.h>

#include "harness/pipeline/linear_error_scan.h"
#include "kernels/cpu/parallel_for.h"

namespace smoothcheck::pipeline {

double unit_roundoff(DType t) {
  switch (t) {
    case DType::f16: return 0x1.0p-11;
    case DType::bf16: return 0x1.0p-8;
    case DType::f64: return 0x1.0p-53;
    default: return 0x1.0p-24;
  }
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.scalar_type() == cb.scalar_type() && ca.sizes() == cb.sizes() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

bool same_bits(const checkpoint::MappedTensorBytes& a, const checkpoint::MappedTensorBytes& b) {
  if (a.info.dtype != b.info.dtype || a.info.shape != b.info.shape || a.info.nbytes != b.info.nbytes) return false;
  constexpr int64_t kPiece = int64_t(1) << 20;
  const int64_t pieces = (static_cast<int64_t>(a.info.nbytes) + kPiece - 1) / kPiece;
  std::atomic<bool> differ{false};
  kernels::cpu::parallel_for(pieces, 4, kernels::cpu::all_cores(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end && !differ.load(std::memory_order_relaxed); ++p) {
      const auto at = static_cast<std::uint64_t>(p * kPiece);
      const std::uint64_t n = std::min<std::uint64_t>(kPiece, a.info.nbytes - at);
      if (std::memcmp(a.data + at, b.data + at, n) != 0) differ = true;
      a.release(at, n);
      b.release(at, n);
    }
  });
  a.release(0, a.info.nbytes);
  b.release(0, b.info.nbytes);
  return !differ;
}

std::vector<float> f32_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void check_layout(const checkpoint::Checkpoint& q, const std::vector<ExportTensor>& expected,
                  const checkpoint::OpaqueTensors& expected_opaque, VerifyReport& r, bool index_required) {
  std::set<std::string> names;
  for (const ExportTensor& e : expected) {
    names.insert(e.name);
    if (!q.contains(e.name)) {
      r.failures.push_back("layout: " + e.name + " is absent");
      continue;
    }
    const checkpoint::TensorInfo info = q.info(e.name);
    r.stored_total_size += static_cast<int64_t>(info.nbytes);
    if (info.dtype != e.dtype || info.shape != e.shape)
      r.failures.push_back("layout: " + e.name + " is " + to_string(info.dtype) + " " +
                           checkpoint::shape_string(info.shape) + ", expected " + to_string(e.dtype) + " " +
                           checkpoint::shape_string(e.shape));
  }
  for (const std::string& n : q.tensor_names())
    if (!names.count(n)) r.failures.push_back("layout: unexpected tensor " + n);
  // Opaque tensors (I64 position_ids) are carried byte for byte.
  std::map<std::string, const checkpoint::OpaqueTensor*> want;
  int64_t opaque_bytes = 0;
  for (const auto& o : expected_opaque) {
    want[o.name] = &o;
    opaque_bytes += static_cast<int64_t>(o.bytes.size());
  }
  for (const auto& got : q.opaque_tensors()) {
    r.stored_total_size += static_cast<int64_t>(got.bytes.size());
    auto it = want.find(got.name);
    if (it == want.end()) {
      r.failures.push_back("layout: unexpected " + got.dtype + " tensor " + got.name);
      continue;
    }
    if (got.dtype != it->second->dtype || got.shape != it->second->shape || got.bytes != it->second->bytes)
      r.failures.push_back("layout: " + got.name + " (" + got.dtype + ") differs from the original's bytes");
    want.erase(it);
  }
  for (const auto& [name, o] : want) r.failures.push_back("layout: " + name + " (" + o->dtype + ") is absent");
  r.expected_total_size = total_size(expected) + opaque_bytes;
  if (const auto declared = q.declared_total_size()) {
    r.declared_total_size = static_cast<int64_t>(*declared);
    if (r.declared_total_size != r.expected_total_size || r.declared_total_size != r.stored_total_size)
      r.failures.push_back("layout: the index's metadata.total_size " + std::to_string(r.declared_total_size) +
                           " but the layout implies " + std::to_string(r.expected_total_size) + " and the tensors hold " +
                           std::to_string(r.stored_total_size) + " bytes");
  } else if (index_required) {
    r.failures.push_back("layout: no index metadata.total_size (an export is always sharded with an index)");
  }
}

namespace {

// numerics.md §8 for one element, exactly as stated: the dequantised, un-smoothed weight against the
// original, over the bound scale/2 carried through the same un-smoothing.
double element_ratio(double w, int8_t q, double scale_rd, double s, double* err_out) {
  const double deq = static_cast<double>(q) * scale_rd / s;
  const double err = std::fabs(w - deq);
  const double bound = scale_rd / (2.0 * s);
  *err_out = err;
  if (err != err || bound != bound) return INFINITY;  // a NaN scale or s is a failure, never a silent 0
  return bound > 0 ? err / bound : (err > 0 ? INFINITY : 0.0);
}

}  // namespace

LinearErrorCheck::LinearErrorCheck(std::string name, const FloatMatrix& original, const at::Tensor& q,
                                   const at::Tensor& scale, const std::vector<float>& s,
                                   const std::vector<float>* rowdiv)
    : name_(std::move(name)),
      original_(original),
      codes_(q.data_ptr<int8_t>()),
      scale_(scale.data_ptr<float>()),
      rowdiv_(rowdiv),
      s_f64_(s.begin(), s.end()),
      inv_s_(s.size()),
      row_ratio_(static_cast<std::size_t>(original.rows)),
      row_err_(static_cast<std::size_t>(original.rows)) {
  for (std::size_t j = 0; j < s_f64_.size(); ++j) inv_s_[j] = 1.0 / s_f64_[j];
}

// A pass over a 1.1B model's weights must run at memory speed: the per-row maxima come from a
// division-free form of the same ratio (linear_error_scan.h); finish() then rescans the worst row with
// the exact formula, which alone decides the reported ratio, its position and the pass/fail. A NaN or
// infinity anywhere (a non-finite scale or s) makes the row's ratio infinite instead of vanishing from
// a max.
void LinearErrorCheck::scan_rows(int64_t begin, int64_t end) {
  const int64_t cols = original_.cols;
  for (int64_t r = begin; r < end; ++r) {
    const double a = static_cast<double>(scale_[r]) * (rowdiv_ ? (*rowdiv_)[r] : 1.0);
    const float* w = original_.data.data() + r * cols;
    const int8_t* qr = codes_ + r * cols;
    if (!(a > 0 && std::isfinite(a))) {  // a zero (all-zero row) or broken scale: the exact formula
      double max_ratio = 0, max_err = 0;
      for (int64_t j = 0; j < cols; ++j) {
        double err = 0;
        const double ratio = element_ratio(w[j], qr[j], a, s_f64_[j], &err);
        max_ratio = std::max(max_ratio, ratio == ratio ? ratio : INFINITY);
        max_err = std::max(max_err, err == err ? err : INFINITY);
      }
      row_ratio_[r] = max_ratio;
      row_err_[r] = max_err;
      continue;
    }
    const RowErrorScan scan = scan_row_error(w, qr, s_f64_.data(), inv_s_.data(), a, cols);
    row_ratio_[r] = scan.finite ? scan.max_ratio : INFINITY;
    row_err_[r] = scan.finite ? scan.max_error : INFINITY;
  }
}

LinearCheck LinearErrorCheck::finish() const {
  LinearCheck c;
  c.name = name_;
  const int64_t rows = original_.rows, cols = original_.cols;
  int64_t worst = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (row_ratio_[r] > row_ratio_[worst]) worst = r;
    c.max_abs_error = std::max(c.max_abs_error, row_err_[r]);
  }
  if (rows == 0 || cols == 0) return c;
  const double rd = rowdiv_ ? (*rowdiv_)[worst] : 1.0;
  c.worst_row = worst;
  c.max_error_over_bound = -1;
  for (int64_t j = 0; j < cols; ++j) {
    double err = 0;
    double ratio = element_ratio(original_.data[worst * cols + j], codes_[worst * cols + j],
                                 static_cast<double>(scale_[worst]) * rd, s_f64_[j], &err);
    if (!(ratio == ratio) || !(err == err)) ratio = INFINITY;
    if (ratio > c.max_error_over_bound) {
      c.max_error_over_bound = ratio;
      c.worst_col = j;
    }
    c.max_abs_error = std::max(c.max_abs_error, std::isfinite(err) ? err : INFINITY);
  }
  if (!std::isfinite(row_ratio_[worst])) c.max_error_over_bound = INFINITY;
  return c;
}

void check_smoothing_applied(const checkpoint::Checkpoint& quantized, const std::vector<std::string>& linears,
                             const QuantizationConfig& qc, VerifyReport& r) {
  if (!qc.smoothing || !qc.migration_scales || linears.empty()) return;
  for (const std::string& name : linears)
    for (float v : f32_vector(quantized.tensor(name + ".migration_scale")))
      if (v != 1.0f) return;
  r.failures.push_back("smoothing: quantization_config says the model was smoothed (recipe " +
                       std::string(to_string(qc.recipe)) + ", alpha " + std::to_string(qc.alpha) +
                       ") but every migration_scale is 1: smoothing was not applied");
}

}  // namespace smoothcheck::pipeline
