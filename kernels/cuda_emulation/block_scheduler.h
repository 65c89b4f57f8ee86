// Runs a kernel's grid on the CPU: one block at a time, each of its threads a fiber (fiber.h), switched
// only where CUDA lets threads wait for each other: __syncthreads (all threads of the block), and the
// warp-collective operations (shuffles, mma.sync: the 32 lanes of one warp). A thread runs until it
// reaches such a point, so threads really interleave there, and nowhere else: a kernel whose result
// depends on an order between barriers is a race, which memory_checker.h reports.
//
// What a GPU would refuse or leave undefined is reported, naming the kernel, the block and the thread:
// a __syncthreads that some threads of the block never reach (they exited, or wait elsewhere), a warp
// operation with lanes missing, __trap, and the memory checker's findings. The first report ends the
// launch with KernelError.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "kernels/cuda_emulation/cuda_runtime.h"

namespace smoothcheck::cuda_emulation {

using emulated_cuda_api::dim3;

// One asynchronous copy (cp.async) of a thread, performed when the thread waits for its group.
struct PendingCopy {
  void* dst;
  const void* src;
  int bytes;
};

// The emulated thread that is running now (valid inside a kernel only).
struct ThreadContext {
  dim3 thread_idx;
  int linear = 0;  // x + y·bx + z·bx·by
  int warp = 0, lane = 0;
  std::vector<PendingCopy> open_group;              // cp.async since the last commit_group
  std::deque<std::vector<PendingCopy>> committed;   // oldest first
};

const dim3& current_thread_index();
const dim3& current_block_index();
const dim3& current_block_dim();
const dim3& current_grid_dim();
ThreadContext& current_thread();
// The barrier generation of the running block: it changes at every __syncthreads the block passes and
// at every new block, so two accesses with the same epoch have no barrier between them.
uint64_t current_epoch();

// __syncthreads.
void sync_block();
// A warp-collective operation: each lane deposits `value`, the lanes wait for each other, and each
// gets the whole warp's deposits (by lane). The lanes then wait again before the slots are reused.
// `what` names the operation for a report.
void warp_exchange(const char* what, const void* value, std::size_t bytes, void* all_lanes_out);

// Ends the launch with a report (never returns): "<kernel>: block (x,y,z) thread (x,y,z): <what>".
[[noreturn]] void report(const std::string& what);

// Runs body() once per thread of every block of `grid`; throws KernelError with the first report. An
// invalid configuration (a zero extent, more than 1024 threads, grid.y or grid.z above 65535) is not
// run: cudaGetLastError returns cudaErrorInvalidConfiguration, as after a real launch.
void run_grid(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& body);

}  // namespace smoothcheck::cuda_emulation
