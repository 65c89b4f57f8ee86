// The emulated GPU's memory and the checks on every access an emulated kernel makes (the kernels are
// compiled with gcc's thread-sanitizer instrumentation, whose per-access callbacks access_hooks.cpp
// turns into check_access; nothing of ThreadSanitizer's own runtime is linked):
//  - global memory: cudaMalloc allocations in one reserved address range, each followed by an unused
//    gap; an access that is not wholly inside a live allocation is out of bounds (or after cudaFree);
//  - shared memory: every __shared__ variable of the running block in one arena, with gaps between;
//    an access not wholly inside one variable is out of bounds, naming the variable;
//  - shared-memory races, as compute-sanitizer's racecheck: a write and another thread's read or write
//    of the same byte with no __syncthreads between them;
//  - cp.async: the destination counts as written from the issue to the issuing thread's
//    cp.async.wait_group (a read of it before that wait is reported), and the copy lands at the wait.
// Global-memory races between threads are not tracked (each block's threads write disjoint outputs in
// every kernel here; blocks run one after another).
#pragma once

#include <cstddef>

#include "kernels/cuda_emulation/block_scheduler.h"

namespace smoothcheck::cuda_emulation {

// cudaMalloc / cudaFree. Fresh memory holds a poison pattern (a GPU's is uninitialised). nullptr when
// the reserved range is exhausted.
void* device_allocate(std::size_t bytes);
bool device_free(void* p);
bool is_device_pointer(const void* p, std::size_t bytes);

// The running block's __shared__ variable declared at `key` (a static of the declaration site), of
// `bytes` bytes: allocated, poisoned, at its first use in the block; the same storage for every
// thread of the block. Throws KernelError when the block's static shared memory exceeds 48 KiB.
void* shared_variable(const void* key, std::size_t bytes, std::size_t align, const char* name);
void begin_block_memory();

// The address ranges the checker owns, for the per-access hooks' first test: an access outside both
// (a stack, a host table) is not the emulated GPU's memory and needs nothing more. Set while a kernel
// runs on this host thread, empty otherwise.
struct CheckedRanges {
  const char* shared_begin = nullptr;
  std::size_t shared_bytes = 0;
  const char* device_begin = nullptr;
  std::size_t device_bytes = 0;
};
extern thread_local CheckedRanges checked_ranges __attribute__((tls_model("initial-exec")));

// One access of `size` bytes by the running thread (reports and ends the launch on a violation).
inline void check_access(const void* addr, std::size_t size, bool write);
void check_shared_access(const char* p, std::size_t size, bool write);
void check_device_access(const char* p, std::size_t size, bool write);
// Called by the scheduler around a launch.
void enter_kernel_memory();
void leave_kernel_memory();

inline void check_access(const void* addr, std::size_t size, bool write) {
  const char* p = static_cast<const char*>(addr);
  const CheckedRanges& r = checked_ranges;
  if (std::size_t(p - r.shared_begin) < r.shared_bytes) return check_shared_access(p, size, write);
  if (std::size_t(p - r.device_begin) < r.device_bytes) return check_device_access(p, size, write);
}

// cp.async.cg.shared.global of `bytes` bytes, and its completion at the issuing thread's wait.
void cp_async_issue(void* shared_dst, const void* global_src, int bytes);
void cp_async_complete(const PendingCopy& copy);

}  // namespace smoothcheck::cuda_emulation
