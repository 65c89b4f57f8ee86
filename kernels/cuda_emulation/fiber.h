// One emulated CUDA thread's execution context: its own stack and a context switch to and from the
// block scheduler (block_scheduler.h). The threads of a block must really interleave at barriers, and
// a block has up to 1024 of them, so they are fibers switched by a few instructions (x86-64: the
// callee-saved registers and the stack pointer; elsewhere ucontext), not OS threads.
#pragma once

#include <cstddef>

namespace smoothcheck::cuda_emulation {

class Fiber {
 public:
  using Entry = void (*)(void* arg);

  // `stack` of `bytes` bytes, owned by the caller (the scheduler keeps one region for all its fibers).
  Fiber(void* stack, std::size_t bytes);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Makes the next resume() run entry(arg) from the top of the stack. entry must never return: it ends
  // by suspend()ing for the last time.
  void reset(Entry entry, void* arg);
  // Scheduler side: runs the fiber until it suspends.
  void resume();
  // Fiber side: back to the scheduler; returns when the scheduler resumes this fiber again.
  void suspend();

 private:
  void* stack_;
  std::size_t bytes_;
  void* fiber_sp_ = nullptr;      // saved stack pointer of the fiber while it is suspended
  void* scheduler_sp_ = nullptr;  // saved stack pointer of the scheduler while the fiber runs
  void* contexts_ = nullptr;      // without the x86-64 switch: the two ucontext_t
};

}  // namespace smoothcheck::cuda_emulation
