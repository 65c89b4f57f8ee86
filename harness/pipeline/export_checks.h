// The checks `verify` runs on any architecture's export: the layout against the tensors it must hold
// (names, dtypes, shapes, carried opaque tensors, the index's exact total_size), and one linear's
// reconstruction against the original weight within numerics.md §8's bound.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "harness/checkpoint/checkpoint.h"
#include "harness/pipeline/float_weights.h"
#include "harness/pipeline/verify.h"
#include "harness/models/quantized_layout.h"

namespace smoothcheck::pipeline {

// Every expected tensor present with its dtype and shape, nothing else, the opaque tensors byte-identical
// to the original's, and metadata.total_size equal to both the expected and the stored bytes. Problems
// are appended to r.failures; the sizes are recorded in r. index_required: an index must state a
// total_size (smoothcheck's exports always have one; another tool may write one unsharded file).
void check_layout(const checkpoint::Checkpoint& quantized, const std::vector<ExportTensor>& expected,
                  const checkpoint::OpaqueTensors& expected_opaque, VerifyReport& r, bool index_required = true);

// §8 for one linear: |W - dequant| <= scale/2 per element of the smoothed weight; un-smoothing divides
// both by s_j and multiplies both by the fused row divisor (nullptr: none). The caller visits the rows:
// scan_rows on every row once (any order, disjoint ranges from any threads), then finish.
// check_quantized_linears scans each block of rows right after the re-derivation has read it, while it
// is in cache. The tensors must outlive it.
class LinearErrorCheck {
 public:
  LinearErrorCheck(std::string name, const FloatMatrix& original, const at::Tensor& q, const at::Tensor& scale,
                   const std::vector<float>& s, const std::vector<float>* rowdiv);
  void scan_rows(int64_t begin, int64_t end);
  LinearCheck finish() const;

 private:
  std::string name_;
  const FloatMatrix& original_;
  const int8_t* codes_;
  const float* scale_;
  const std::vector<float>* rowdiv_;
  std::vector<double> s_f64_, inv_s_;       // s_j and 1/s_j in float64
  std::vector<double> row_ratio_, row_err_;  // each row's screened maxima
};

// An export whose quantization_config says it was smoothed must carry some migration scale other than 1:
// all ones is the unsmoothed model, i.e. smoothing silently not applied (every other check passes on
// such an export, since it is self-consistent). Appends a failure when every scale of every linear is 1.
void check_smoothing_applied(const checkpoint::Checkpoint& quantized, const std::vector<std::string>& linears,
                             const QuantizationConfig& qc, VerifyReport& r);

// Whether two tensors hold the same bytes in the same shape and dtype: verify's "bit for bit" for the
// tensors quantisation does not produce. Not at::equal, which compares values (-0 equal to +0, a NaN
// unequal to itself) and at 1.1B took 0.5 s on one core for the embedding and the head.
bool same_bits(const at::Tensor& a, const at::Tensor& b);
// The same for two tensors' bytes in place: compared on every core, a piece at a time, each piece's
// pages dropped once compared, so neither tensor is copied out (at 1.1B, four 131 MB copies and their
// fresh pages to zero were verify's last 0.5 s).
bool same_bits(const checkpoint::MappedTensorBytes& a, const checkpoint::MappedTensorBytes& b);

std::vector<float> f32_vector(const at::Tensor& t);

// The unit roundoff of a stored dtype (2^-24 for f32).
double unit_roundoff(DType t);

}  // namespace smoothcheck::pipeline
