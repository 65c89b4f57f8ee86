#include "kernels/cuda_emulation/block_scheduler.h"

#include <sys/mman.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>

#include "kernels/cuda_emulation/fiber.h"
#include "kernels/cuda_emulation/memory_checker.h"
#include "kernels/kernel_api.h"

namespace smoothcheck::cuda_emulation {

namespace {

constexpr std::size_t kStackBytes = std::size_t(64) << 10;
constexpr std::size_t kGuardBytes = 4096;  // below each stack: an overflow faults instead of corrupting
constexpr int kMaxThreads = 1024;
constexpr int kWarp = 32;
constexpr std::size_t kSlotBytes = 64;     // the largest warp_exchange deposit (an mma's operands)

enum class Wait { running, block_barrier, warp_barrier, finished };

struct EmulatedThread {
  ThreadContext context;
  Fiber fiber;
  Wait wait = Wait::running;
  const char* waiting_in = "";  // the operation it waits in, for a report
  EmulatedThread(void* stack, std::size_t bytes) : fiber(stack, bytes) {}
};

// The launch in progress on this host thread.
struct GridState {
  const char* kernel = "";
  dim3 grid, block, block_idx;
  const std::function<void()>* body = nullptr;
  uint64_t epoch = 0;
  EmulatedThread* current = nullptr;
  bool running = false;
  bool aborted = false;
  std::string report;
  char* stacks = nullptr;
  std::vector<std::unique_ptr<EmulatedThread>> threads;
  std::vector<std::array<unsigned char, kWarp * kSlotBytes>> warp_slots;

  ~GridState() {
    threads.clear();
    if (stacks) munmap(stacks, std::size_t(kMaxThreads) * (kStackBytes + kGuardBytes));
  }
};

thread_local GridState g;

std::string dims(const dim3& d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string where(const EmulatedThread* t) {
  std::string s = std::string(g.kernel) + ": block " + dims(g.block_idx);
  if (t) s += " thread " + dims(t->context.thread_idx);
  return s;
}

void abort_launch(const std::string& text) {
  if (!g.aborted) {
    g.aborted = true;
    g.report = text;
  }
}

void thread_main(void* arg) {
  auto* t = static_cast<EmulatedThread*>(arg);
  try {
    (*g.body)();
  } catch (const std::exception& e) {
    abort_launch(where(t) + ": " + e.what());
  }
  t->wait = Wait::finished;
  t->fiber.suspend();  // a finished thread is never resumed
  std::abort();
}

void ensure_threads(int n) {
  if (!g.stacks) {
    const std::size_t total = std::size_t(kMaxThreads) * (kStackBytes + kGuardBytes);
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw kernels::KernelError("cuda-emulated: cannot map the emulated threads' stacks");
    g.stacks = static_cast<char*>(p);
  }
  while (int(g.threads.size()) < n) {
    char* slot = g.stacks + g.threads.size() * (kStackBytes + kGuardBytes);
    mprotect(slot, kGuardBytes, PROT_NONE);
    g.threads.push_back(std::make_unique<EmulatedThread>(slot + kGuardBytes, kStackBytes));
  }
  g.warp_slots.resize(std::size_t((n + kWarp - 1) / kWarp));
}

// Runs one block's threads until all have finished or the launch is aborted.
void run_block(int n) {
  const int warps = (n + kWarp - 1) / kWarp;
  for (;;) {
    for (int i = 0; i < n; ++i) {
      EmulatedThread& t = *g.threads[std::size_t(i)];
      if (t.wait != Wait::running) continue;
      g.current = &t;
      t.fiber.resume();
      g.current = nullptr;
      if (g.aborted) return;
    }
    int finished = 0, at_block = 0, first_finished = -1, first_at_block = -1;
    for (int i = 0; i < n; ++i) {
      const Wait w = g.threads[std::size_t(i)]->wait;
      if (w == Wait::finished && first_finished < 0) first_finished = i;
      if (w == Wait::block_barrier && first_at_block < 0) first_at_block = i;
      finished += w == Wait::finished;
      at_block += w == Wait::block_barrier;
    }
    if (finished == n) return;
    if (at_block > 0 && at_block + finished == n) {
      if (finished > 0)
        return abort_launch(where(g.threads[std::size_t(first_at_block)].get()) + ": __syncthreads reached by " +
                            std::to_string(at_block) + " of " + std::to_string(n) + " threads; " +
                            dims(g.threads[std::size_t(first_finished)]->context.thread_idx) +
                            " and others have exited (a barrier in divergent code)");
      ++g.epoch;
      for (int i = 0; i < n; ++i)
        if (g.threads[std::size_t(i)]->wait == Wait::block_barrier) g.threads[std::size_t(i)]->wait = Wait::running;
      continue;
    }
    bool released = false;
    for (int w = 0; w < warps; ++w) {
      const int begin = w * kWarp, end = std::min(n, begin + kWarp);
      int at_warp = 0, gone = 0, waiting = -1;
      for (int i = begin; i < end; ++i) {
        const Wait s = g.threads[std::size_t(i)]->wait;
        if (s == Wait::warp_barrier && waiting < 0) waiting = i;
        at_warp += s == Wait::warp_barrier;
        gone += s == Wait::finished;
      }
      if (at_warp == 0) continue;
      if (end - begin < kWarp)
        return abort_launch(where(g.threads[std::size_t(waiting)].get()) + ": " +
                            g.threads[std::size_t(waiting)]->waiting_in + " in a warp of " +
                            std::to_string(end - begin) + " lanes (the block is not a whole number of warps)");
      if (at_warp == end - begin) {
        for (int i = begin; i < end; ++i) g.threads[std::size_t(i)]->wait = Wait::running;
        released = true;
      } else if (at_warp + gone == end - begin) {
        return abort_launch(where(g.threads[std::size_t(waiting)].get()) + ": " +
                            g.threads[std::size_t(waiting)]->waiting_in + " with " + std::to_string(gone) +
                            " lanes of its warp exited");
      }
    }
    if (!released) {
      const EmulatedThread* t = g.threads[std::size_t(first_at_block >= 0 ? first_at_block : 0)].get();
      return abort_launch(where(t) + ": deadlock: " + std::to_string(at_block) +
                          " threads wait at __syncthreads while the others wait in warp operations of warps "
                          "whose other lanes wait at __syncthreads");
    }
  }
}

}  // namespace

const dim3& current_thread_index() { return g.current->context.thread_idx; }
const dim3& current_block_index() { return g.block_idx; }
const dim3& current_block_dim() { return g.block; }
const dim3& current_grid_dim() { return g.grid; }
ThreadContext& current_thread() { return g.current->context; }
uint64_t current_epoch() { return g.epoch; }
bool inside_kernel() { return g.current != nullptr; }

void sync_block() {
  EmulatedThread* t = g.current;
  if (!t) throw std::logic_error("__syncthreads outside an emulated kernel");
  t->wait = Wait::block_barrier;
  t->waiting_in = "__syncthreads";
  t->fiber.suspend();
}

void warp_exchange(const char* what, const void* value, std::size_t bytes, void* all_lanes_out) {
  EmulatedThread* t = g.current;
  if (!t) throw std::logic_error(std::string(what) + " outside an emulated kernel");
  if (bytes > kSlotBytes) throw std::logic_error(std::string(what) + ": deposit too large");
  unsigned char* slots = g.warp_slots[std::size_t(t->context.warp)].data();
  std::memcpy(slots + std::size_t(t->context.lane) * kSlotBytes, value, bytes);
  t->wait = Wait::warp_barrier;
  t->waiting_in = what;
  t->fiber.suspend();
  for (int lane = 0; lane < kWarp; ++lane)
    std::memcpy(static_cast<unsigned char*>(all_lanes_out) + std::size_t(lane) * bytes,
                slots + std::size_t(lane) * kSlotBytes, bytes);
  t->wait = Wait::warp_barrier;  // every lane has read before a lane deposits again
  t->fiber.suspend();
}

void report(const std::string& what) {
  EmulatedThread* t = g.current;
  if (!t) throw kernels::KernelError(std::string(g.kernel) + ": " + what);
  abort_launch(where(t) + ": " + what);
  t->fiber.suspend();  // the scheduler abandons the block; this fiber is never resumed
  std::abort();
}

void run_grid(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& body) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > uint64_t(kMaxThreads) ||
      block.z > 64 || grid.y > 65535 || grid.z > 65535) {
    emulated_cuda_api::set_last_error(emulated_cuda_api::cudaErrorInvalidConfiguration);
    return;
  }
  if (g.running) throw kernels::KernelError(std::string(kernel) + ": a kernel launch inside a kernel (not emulated)");
  const int n = int(threads);
  ensure_threads(n);
  g.kernel = kernel;
  g.grid = grid;
  g.block = block;
  g.body = &body;
  g.aborted = false;
  g.report.clear();
  g.running = true;
  for (unsigned z = 0; z < grid.z && !g.aborted; ++z)
    for (unsigned y = 0; y < grid.y && !g.aborted; ++y)
      for (unsigned x = 0; x < grid.x && !g.aborted; ++x) {
        g.block_idx = dim3(x, y, z);
        ++g.epoch;
        begin_block_memory();
        for (int i = 0; i < n; ++i) {
          EmulatedThread& t = *g.threads[std::size_t(i)];
          t.context.thread_idx = dim3(unsigned(i) % block.x, unsigned(i) / block.x % block.y,
                                      unsigned(i) / (block.x * block.y));
          t.context.linear = i;
          t.context.warp = i / kWarp;
          t.context.lane = i % kWarp;
          t.context.open_group.clear();
          t.context.committed.clear();
          t.wait = Wait::running;
          t.fiber.reset(&thread_main, &t);
        }
        run_block(n);
      }
  g.running = false;
  g.current = nullptr;
  if (g.aborted) throw kernels::KernelError("cuda-emulated: " + g.report);
}

}  // namespace smoothcheck::cuda_emulation
