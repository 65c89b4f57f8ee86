// The PTX instructions the kernels issue through inline assembly, executed on the CPU: cp.async (with
// its commit and wait groups) and mma.sync.m16n8k32 on int8. Used by kernels/cuda/ptx_ops.cuh when the
// CUDA source is compiled for the emulation.
#pragma once

#include <cstdint>

namespace smoothcheck::cuda_emulation {

// cp.async.cg.shared.global [dst], [src], bytes: the copy is recorded, the destination marked pending.
void cp_async(void* shared_dst, const void* global_src, int bytes);
// cp.async.commit_group: the copies issued since the last commit become one group.
void cp_async_commit_group();
// cp.async.wait_group n: the thread's groups older than its n most recent ones complete (land).
void cp_async_wait_group(int n);

// mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 d, a, b, c with d = c: a warp-collective operation,
// every lane passing its fragments as the PTX ISA defines them.
void mma_m16n8k32_s8(int32_t (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);

}  // namespace smoothcheck::cuda_emulation
