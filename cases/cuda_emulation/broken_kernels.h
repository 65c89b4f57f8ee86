// Kernels with one deliberate defect each, written in CUDA and compiled for the CPU emulation, with the
// correct twin of each: the proof that the emulation's checkers (block_scheduler.h, memory_checker.h)
// report what compute-sanitizer would. Each function allocates with cudaMalloc, launches, copies back;
// a report surfaces as KernelError from the launch.
#pragma once

#include <vector>

namespace smoothcheck::cuda_emulation_cases {

// 64 threads store into a 64-float __shared__ array at threadIdx.x + overrun, then read it back.
std::vector<float> shared_store(int overrun);
// 64 threads read in[threadIdx.x + offset] from a 64-float allocation.
std::vector<float> global_read(int offset);
// Each thread writes its own shared slot and reads its neighbour's, with or without __syncthreads.
std::vector<float> neighbour_exchange(bool barrier);
// Each thread cp.asyncs 16 bytes into shared memory, commits, waits (wait_group 0, or wait_group 1,
// which waits for nothing with one group in flight), optionally __syncthreads, reads its neighbour's.
std::vector<float> cp_async_exchange(int wait_group, bool barrier);
// Threads below `exit_below` return before a __syncthreads the others reach.
std::vector<float> divergent_barrier(int exit_below);
// Two cub::BlockReduce calls on one TempStorage, with or without the __syncthreads CUB requires.
std::vector<float> reduce_twice(bool barrier);

}  // namespace smoothcheck::cuda_emulation_cases
