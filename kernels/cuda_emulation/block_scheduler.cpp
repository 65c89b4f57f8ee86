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

// A plain thread_local pointer: no initialisation guard on every access (current_epoch() and friends
// run on every checked memory access).
thread_local GridState* g_state = nullptr;
GridState& state() {
  if (!g_state) {
    static thread_local std::unique_ptr<GridState> owner(new GridState());
    g_state = owner.get();
  }
  return *g_state;
}

std::string dims(const dim3& d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

std::string where(const EmulatedThread* t) {
  std::string s = std::string(state().kernel) + ": block " + dims(state().block_idx);
  if (t) s += " thread " + dims(t->context.thread_idx);
  return s;
}

void abort_launch(const std::string& text) {
  if (!state().aborted) {
    state().aborted = true;
    state().report = text;
  }
}

void thread_main(void* arg) {
  auto* t = static_cast<EmulatedThread*>(arg);
  try {
    (*state().body)();
  } catch (const std::exception& e) {
    abort_launch(where(t) + ": " + e.what());
  }
  t->wait = Wait::finished;
  t->fiber.suspend();  // a finished thread is never resumed
  std::abort();
}

void ensure_threads(int n) {
  if (!state().stacks) {
    const std::size_t total = std::size_t(kMaxThreads) * (kStackBytes + kGuardBytes);
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw kernels::KernelError("cuda-emulated: cannot map the emulated threads' stacks");
    state().stacks = static_cast<char*>(p);
  }
  while (int(state().threads.size()) < n) {
    char* slot = state().stacks + state().threads.size() * (kStackBytes + kGuardBytes);
    mprotect(slot, kGuardBytes, PROT_NONE);
    state().threads.push_back(std::make_unique<EmulatedThread>(slot + kGuardBytes, kStackBytes));
  }
  state().warp_slots.resize(std::size_t((n + kWarp - 1) / kWarp));
}

// Runs one block's threads until all have finished or the launch is aborted.
void run_block(int n) {
  const int warps = (n + kWarp - 1) / kWarp;
  for (;;) {
    for (int i = 0; i < n; ++i) {
      EmulatedThread& t = *state().threads[std::size_t(i)];
      if (t.wait != Wait::running) continue;
      state().current = &t;
      t.fiber.resume();
      state().current = nullptr;
      if (state().aborted) return;
    }
    int finished = 0, at_block = 0, first_finished = -1, first_at_block = -1;
    for (int i = 0; i < n; ++i) {
      const Wait w = state().threads[std::size_t(i)]->wait;
      if (w == Wait::finished && first_finished < 0) first_finished = i;
      if (w == Wait::block_barrier && first_at_block < 0) first_at_block = i;
      finished += w == Wait::finished;
      at_block += w == Wait::block_barrier;
    }
    if (finished == n) return;
    if (at_block > 0 && at_block + finished == n) {
      if (finished > 0)
        return abort_launch(where(state().threads[std::size_t(first_at_block)].get()) + ": __syncthreads reached by " +
                            std::to_string(at_block) + " of " + std::to_string(n) + " threads; " +
                            dims(state().threads[std::size_t(first_finished)]->context.thread_idx) +
                            " and others have exited (a barrier in divergent code)");
      ++state().epoch;
      for (int i = 0; i < n; ++i)
        if (state().threads[std::size_t(i)]->wait == Wait::block_barrier) state().threads[std::size_t(i)]->wait = Wait::running;
      continue;
    }
    bool released = false;
    for (int w = 0; w < warps; ++w) {
      const int begin = w * kWarp, end = std::min(n, begin + kWarp);
      int at_warp = 0, gone = 0, waiting = -1;
      for (int i = begin; i < end; ++i) {
        const Wait s = state().threads[std::size_t(i)]->wait;
        if (s == Wait::warp_barrier && waiting < 0) waiting = i;
        at_warp += s == Wait::warp_barrier;
        gone += s == Wait::finished;
      }
      if (at_warp == 0) continue;
      if (end - begin < kWarp)
        return abort_launch(where(state().threads[std::size_t(waiting)].get()) + ": " +
                            state().threads[std::size_t(waiting)]->waiting_in + " in a warp of " +
                            std::to_string(end - begin) + " lanes (the block is not a whole number of warps)");
      if (at_warp == end - begin) {
        for (int i = begin; i < end; ++i) state().threads[std::size_t(i)]->wait = Wait::running;
        released = true;
      } else if (at_warp + gone == end - begin) {
        return abort_launch(where(state().threads[std::size_t(waiting)].get()) + ": " +
                            state().threads[std::size_t(waiting)]->waiting_in + " with " + std::to_string(gone) +
                            " lanes of its warp exited");
      }
    }
    if (!released) {
      const EmulatedThread* t = state().threads[std::size_t(first_at_block >= 0 ? first_at_block : 0)].get();
      return abort_launch(where(t) + ": deadlock: " + std::to_string(at_block) +
                          " threads wait at __syncthreads while the others wait in warp operations of warps "
                          "whose other lanes wait at __syncthreads");
    }
  }
}

}  // namespace

const dim3& current_thread_index() { return state().current->context.thread_idx; }
const dim3& current_block_index() { return state().block_idx; }
const dim3& current_block_dim() { return state().block; }
const dim3& current_grid_dim() { return state().grid; }
ThreadContext& current_thread() { return state().current->context; }
uint64_t current_epoch() { return state().epoch; }

void sync_block() {
  EmulatedThread* t = state().current;
  if (!t) throw std::logic_error("__syncthreads outside an emulated kernel");
  t->wait = Wait::block_barrier;
  t->waiting_in = "__syncthreads";
  t->fiber.suspend();
}

void warp_exchange(const char* what, const void* value, std::size_t bytes, void* all_lanes_out) {
  EmulatedThread* t = state().current;
  if (!t) throw std::logic_error(std::string(what) + " outside an emulated kernel");
  if (bytes > kSlotBytes) throw std::logic_error(std::string(what) + ": deposit too large");
  unsigned char* slots = state().warp_slots[std::size_t(t->context.warp)].data();
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
  EmulatedThread* t = state().current;
  if (!t) throw kernels::KernelError(std::string(state().kernel) + ": " + what);
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
  if (state().running) throw kernels::KernelError(std::string(kernel) + ": a kernel launch inside a kernel (not emulated)");
  const int n = int(threads);
  ensure_threads(n);
  state().kernel = kernel;
  state().grid = grid;
  state().block = block;
  state().body = &body;
  state().aborted = false;
  state().report.clear();
  state().running = true;
  enter_kernel_memory();
  for (unsigned z = 0; z < grid.z && !state().aborted; ++z)
    for (unsigned y = 0; y < grid.y && !state().aborted; ++y)
      for (unsigned x = 0; x < grid.x && !state().aborted; ++x) {
        state().block_idx = dim3(x, y, z);
        ++state().epoch;
        begin_block_memory();
        for (int i = 0; i < n; ++i) {
          EmulatedThread& t = *state().threads[std::size_t(i)];
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
  state().running = false;
  state().current = nullptr;
  leave_kernel_memory();
  if (state().aborted) throw kernels::KernelError("cuda-emulated: " + state().report);
}

}  // namespace smoothcheck::cuda_emulation
