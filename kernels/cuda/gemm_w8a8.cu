// numerics.md §7: acc = A · Bᵀ on int8 tensor cores (mma.sync.m16n8k32.s32.s8.s8.s32, sm_80 and
// sm_90), with the dequantisation epilogue fused (numerics::epilogue_vllm / epilogue_lmdeploy, one
// rounding to the output dtype through numerics.h's conversions, so the values equal the CPU's bit
// for bit). Every index below comes from launch_plan.h (tiles, copy chunks, fragment layouts), which
// the CPU tests check. The operands arrive zero-padded to whole 128 x 32 tiles, so the loads need no
// predicates and the padding adds nothing to the integer sums; the stores are predicated on M and N.
// Two-stage cp.async pipeline: tile k + 1 is in flight while tile k feeds the tensor cores.
#include "kernels/cuda/device_common.cuh"
#include "kernels/cuda/launchers.h"
#include "kernels/cuda/ptx_ops.cuh"

namespace smoothcheck::kernels::cuda_launch {
namespace {

using namespace cuda_device;
namespace cp = cuda_plan;

struct I32 {  // the raw accumulators (gemm_s8s8s32)
  using Storage = int32_t;
};

// One output element: the raw accumulator, or the epilogue rounded once to the output dtype.
template <class OutE>
__device__ __forceinline__ typename OutE::Storage epilogue_element(int32_t acc, const EpilogueArgs& ep, int64_t row,
                                                                   int64_t col) {
  if constexpr (std::is_same_v<OutE, I32>) {
    return acc;
  } else {
    const float sa = ep.scale_a[row], sb = ep.scale_b[col];
    // vLLM: one __fmaf_rn (CUTLASS multiply_add, scaled_mm_epilogues_c3x.hpp); without a bias the addend
    // -0.0f leaves the rounded product as it is, zeros' signs included, as on the CPU.
    if (ep.kind == Epilogue::vllm) return OutE::store(nx::epilogue_vllm(acc, sa, sb, ep.bias ? ep.bias[col] : -0.0f));
    // lmdeploy: rounded to the output dtype, then the bias added in the output dtype (an f32 sum of two
    // values of a 16-bit float type, rounded once, is that type's correctly rounded sum).
    float y = round_to<OutE>(nx::epilogue_lmdeploy(acc, sa, sb));
    if (ep.bias) y = nx::add_rn(y, ep.bias[col]);
    return OutE::store(y);
  }
}

template <class OutE>
__global__ void __launch_bounds__(cp::kGemmThreads)
    gemm_mma_kernel(const int8_t* __restrict__ a, const int8_t* __restrict__ b, int64_t k_pad, int64_t k_tiles,
                    int64_t m, int64_t n, EpilogueArgs ep, typename OutE::Storage* __restrict__ out, int64_t ldo) {
#if (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800) || defined(SC_CUDA_EMULATION)
  SC_SHARED_ALIGNED(int8_t[cp::kGemmStages][2][cp::kGemmSmemTileBytes], smem, 16);
  const int tid = int(threadIdx.x), warp = tid / cp::kWarp, lane = tid % cp::kWarp;
  const int64_t block_m = blockIdx.y, block_n = blockIdx.x;
  const int8_t* a_block = a + block_m * cp::kGemmBM * k_pad;
  const int8_t* b_block = b + block_n * cp::kGemmBN * k_pad;
  const cp::TileChunk chunk = cp::gemm_copy_chunk(tid);
  const int warp_row0 = cp::gemm_warp_row0(warp), warp_col0 = cp::gemm_warp_col0(warp);

  auto load_stage = [&](int stage, int64_t kt) {
    const int64_t g = int64_t(chunk.row) * k_pad + kt * cp::kGemmBK + chunk.byte;
    const int s = chunk.row * cp::kGemmSmemPitch + chunk.byte;
    cp_async16(&smem[stage][0][s], a_block + g);
    cp_async16(&smem[stage][1][s], b_block + g);
    cp_async_commit();
  };

  int32_t acc[cp::kGemmMmaTilesM][cp::kGemmMmaTilesN][4] = {};
  if (k_tiles > 0) load_stage(0, 0);
  for (int64_t kt = 0; kt < k_tiles; ++kt) {
    const int stage = int(kt & 1);
    if (kt + 1 < k_tiles) {
      load_stage(stage ^ 1, kt + 1);  // that stage was released by the barrier ending iteration kt - 1
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    uint32_t af[cp::kGemmMmaTilesM][4], bf[cp::kGemmMmaTilesN][2];
#pragma unroll
    for (int mt = 0; mt < cp::kGemmMmaTilesM; ++mt)
#pragma unroll
      for (int r = 0; r < 4; ++r)
        af[mt][r] = *reinterpret_cast<const uint32_t*>(
            &smem[stage][0][(warp_row0 + mt * cp::kMmaM + cp::frag_a_row(r, lane)) * cp::kGemmSmemPitch +
                            cp::frag_a_k(r, lane)]);
#pragma unroll
    for (int nt = 0; nt < cp::kGemmMmaTilesN; ++nt)
#pragma unroll
      for (int r = 0; r < 2; ++r)
        bf[nt][r] = *reinterpret_cast<const uint32_t*>(
            &smem[stage][1][(warp_col0 + nt * cp::kMmaN + cp::frag_b_n(r, lane)) * cp::kGemmSmemPitch +
                            cp::frag_b_k(r, lane)]);
#pragma unroll
    for (int mt = 0; mt < cp::kGemmMmaTilesM; ++mt)
#pragma unroll
      for (int nt = 0; nt < cp::kGemmMmaTilesN; ++nt) mma_s8(acc[mt][nt], af[mt], bf[nt]);
    __syncthreads();
  }

#pragma unroll
  for (int mt = 0; mt < cp::kGemmMmaTilesM; ++mt)
#pragma unroll
    for (int nt = 0; nt < cp::kGemmMmaTilesN; ++nt)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const cp::MatrixPos p = cp::gemm_acc_position(block_m, block_n, warp, mt, nt, r, lane);
        if (p.row < m && p.col < n) out[p.row * ldo + p.col] = epilogue_element<OutE>(acc[mt][nt][r], ep, p.row, p.col);
      }
#else
  __trap();  // int8 mma.sync needs sm_80; the build targets sm_80 and sm_90 only
#endif
}

template <class OutE>
__global__ void gemm_epilogue_kernel(const int32_t* acc, int64_t ldacc, int64_t m, int64_t n, EpilogueArgs ep,
                                     typename OutE::Storage* out, int64_t ldo) {
  const int64_t total = m * n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / n, col = i % n;
    out[row * ldo + col] = epilogue_element<OutE>(acc[row * ldacc + col], ep, row, col);
  }
}

#define SC_DISPATCH_OUT_DTYPE(dtype, OutE, ...)                                                     \
  switch (dtype) {                                                                                  \
    case DType::i32: { using OutE = I32; __VA_ARGS__; break; }                                      \
    case DType::f32: { using OutE = F32; __VA_ARGS__; break; }                                      \
    case DType::f16: { using OutE = F16; __VA_ARGS__; break; }                                      \
    case DType::bf16: { using OutE = BF16; __VA_ARGS__; break; }                                    \
    default:                                                                                        \
      throw KernelError(std::string("gemm: output dtype ") + to_string(dtype) +                     \
                        " not supported (i32 accumulators, or f32, f16, bf16)");                    \
  }

}  // namespace

void gemm_mma(const int8_t* a, const int8_t* b, const cuda_plan::GemmPlan& plan, const EpilogueArgs& ep, void* out,
              DType out_dtype, int64_t ldo, cudaStream_t stream) {
  if (plan.empty()) return;
  const dim3 grid(unsigned(plan.grid_n), unsigned(plan.grid_m));
  SC_DISPATCH_OUT_DTYPE(out_dtype, OutE,
                        SC_LAUNCH(grid, cp::kGemmThreads, stream, gemm_mma_kernel<OutE>)(
                            a, b, plan.k_pad, plan.k_tiles, plan.m, plan.n, ep,
                            static_cast<typename OutE::Storage*>(out), ldo);
                        SC_CUDA_CHECK_LAUNCH("gemm_mma_kernel"));
}

void gemm_epilogue(const int32_t* acc, int64_t ldacc, int64_t m, int64_t n, const EpilogueArgs& ep, void* out,
                   DType out_dtype, int64_t ldo, cudaStream_t stream) {
  const cuda_plan::Launch1D l = cuda_plan::plan_elements(m * n);
  if (l.grid == 0) return;
  SC_DISPATCH_OUT_DTYPE(out_dtype, OutE,
                        SC_LAUNCH(unsigned(l.grid), l.block, stream, gemm_epilogue_kernel<OutE>)(
                            acc, ldacc, m, n, ep, static_cast<typename OutE::Storage*>(out), ldo);
                        SC_CUDA_CHECK_LAUNCH("gemm_epilogue_kernel"));
}

}  // namespace smoothcheck::kernels::cuda_launch
