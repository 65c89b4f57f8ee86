// The library anchor: the same int8 product through cuBLASLt (CUBLAS_COMPUTE_32I), so the harness
// can hold the mma.sync kernel against NVIDIA's own. Row-major acc [M, N] = a [M, K] · b [N, K]ᵀ is
// column-major accᵀ [N, M] = op_T(b as K x N) · (a as K x M): cuBLASLt's "TN" int8 layout, with K as
// both operands' leading dimension. Its alignment rules are checked first (launch_plan.h) and a
// shape outside them is a KernelError naming the rule, never a silent fallback.
#include <memory>
#include <type_traits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launchers.h"

namespace smoothcheck::kernels::cuda_launch {
namespace {

template <class T, cublasStatus_t (*Destroy)(T)>
struct LtDeleter {
  void operator()(T p) const {
    if (p) Destroy(p);
  }
};
using MatmulDesc = std::unique_ptr<std::remove_pointer_t<cublasLtMatmulDesc_t>,
                                   LtDeleter<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>>;
using LayoutDesc = std::unique_ptr<std::remove_pointer_t<cublasLtMatrixLayout_t>,
                                   LtDeleter<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>>;
using Preference = std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>,
                                   LtDeleter<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>>;

LayoutDesc layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld) {
  cublasLtMatrixLayout_t raw = nullptr;
  SC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&raw, type, uint64_t(rows), uint64_t(cols), ld));
  return LayoutDesc(raw);
}

}  // namespace

void cublaslt_gemm_s8s8s32(cublasLtHandle_t handle, const int8_t* a, const int8_t* b, int32_t* acc, int64_t m,
                           int64_t n, int64_t k, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  const std::string violated = cuda_plan::cublaslt_int8_constraint(m, n, k);
  if (!violated.empty()) throw UnsupportedArguments(violated);  // a documented limit: the harness waives the case
  if (m == 0 || n == 0) return;
  if (k == 0) {  // cuBLASLt rejects an empty reduction; the product is all zeros
    SC_CUDA_CHECK(cudaMemsetAsync(acc, 0, size_t(m * n) * sizeof(int32_t), stream));
    return;
  }

  cublasLtMatmulDesc_t raw_op = nullptr;
  SC_CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw_op, CUBLAS_COMPUTE_32I, CUDA_R_32I));
  MatmulDesc op(raw_op);
  const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.get(), CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
  SC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.get(), CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));

  LayoutDesc a_desc = layout(CUDA_R_8I, k, n, k);   // our b, K x N column-major, transposed by the op
  LayoutDesc b_desc = layout(CUDA_R_8I, k, m, k);   // our a, K x M column-major
  LayoutDesc c_desc = layout(CUDA_R_32I, n, m, n);  // our acc [M, N] row-major

  cublasLtMatmulPreference_t raw_pref = nullptr;
  SC_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_pref));
  Preference pref(raw_pref);
  SC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.get(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                       &workspace_bytes, sizeof workspace_bytes));
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  SC_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, op.get(), a_desc.get(), b_desc.get(), c_desc.get(),
                                                 c_desc.get(), pref.get(), 1, &heuristic, &found));
  if (found == 0)
    throw KernelError("cuBLASLt int8 GEMM: no algorithm for M = " + std::to_string(m) + ", N = " +
                      std::to_string(n) + ", K = " + std::to_string(k));

  const int32_t alpha = 1, beta = 0;
  SC_CUBLAS_CHECK(cublasLtMatmul(handle, op.get(), &alpha, b, a_desc.get(), a, b_desc.get(), &beta, acc,
                                 c_desc.get(), acc, c_desc.get(), &heuristic.algo, workspace, workspace_bytes,
                                 stream));
}

}  // namespace smoothcheck::kernels::cuda_launch
