// One interface over "something that computes the SmoothQuant steps": the float64 reference or a
// production backend. A property is written once against StepRunner and checked on both; a
// deliberately wrong implementation for the "can fail" tests is a StepRunner too (a mutant backend, or
// an override of one step). Values travel as float64 (every f32/f16/bf16/int8 value converts exactly);
// `dtype` says how the tensor is stored when the step runs.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kernels/kernel_api.h"
#include "reference/reference.h"

namespace smoothcheck::property {

using reference::Matrix;
using reference::Vector;

struct StatsResult {
  Vector absmax, min, max, sum, abssum;
};

struct CodesResult {
  Matrix codes;  // int8 values
  Vector scale;  // per row (per token, per output channel); one element per tensor
};

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  virtual std::string name() const = 0;
  // f64 runs on the reference only: the kernels take f32/f16/bf16.
  virtual bool supports(DType dtype) const = 0;

  virtual StatsResult channel_stats(const Matrix& x, DType dtype) = 0;
  virtual Vector weight_stat(const Matrix& w, DType dtype, Recipe recipe) = 0;
  virtual Vector smooth_scale(const Vector& a, const Vector& w, const Vector& norm_weight, Recipe recipe, float alpha) = 0;
  virtual Matrix scale_columns(const Matrix& w, const Vector& s, DType dtype) = 0;
  virtual Matrix divide_rows(const Matrix& w, const Vector& s, DType dtype) = 0;
  virtual CodesResult quantize_weight(const Matrix& w, DType dtype, WeightQuant variant) = 0;
  // migration_scale empty or [C].
  virtual CodesResult quantize_per_token(const Matrix& x, DType dtype, const Vector& migration_scale,
                                         const ActQuantOptions& o) = 0;
  virtual CodesResult quantize_per_tensor(const Matrix& x, DType dtype, double scale, const ActQuantOptions& o) = 0;
  virtual Matrix gemm_s8s8s32(const Matrix& a, const Matrix& b) = 0;
  // bias empty or [N] (already representable in out_dtype).
  virtual Matrix gemm_w8a8(const Matrix& a, const Matrix& b, const Vector& scale_a, const Vector& scale_b,
                           const Vector& bias, Epilogue epilogue, DType out_dtype) = 0;
};

std::unique_ptr<StepRunner> reference_runner();
// Borrows the backend (it must outlive the runner).
std::unique_ptr<StepRunner> backend_runner(kernels::Backend& backend);

// A matrix from row-major values.
Matrix matrix_of(int64_t rows, int64_t cols, std::vector<double> values);

}  // namespace smoothcheck::property
