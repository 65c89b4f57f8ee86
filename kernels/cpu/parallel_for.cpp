// parallel_for on a persistent pool of worker threads (created on first use, grown to the largest
// thread count asked for, joined at exit) instead of std::threads spawned per call: spawning and
// joining cost more than a decode-sized kernel (quantize_per_token of 16 x 4096 bf16 on 2 threads, best
// of 300 calls on the 2-core dev machine: 40 us with a spawn per call, 10-20 us on the pool).
//
// The chunks stay fixed, contiguous and in order; only which thread runs a chunk varies (the caller
// takes chunks too, so a worker the OS has not scheduled yet does not stall the call), and a kernel
// whose rows are independent therefore gives the same result for every thread count and schedule.
// A call made while the pool is busy (a second caller thread, or a kernel nested inside a chunk) does
// not wait for it: it runs on threads of its own, as before the pool, or inline when nested; so does
// a call in a forked child.
#include "kernels/cpu/parallel_for.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace smoothcheck::kernels::cpu {
namespace {

thread_local bool t_inside_chunk = false;

// How long a thread spins on a flag before it sleeps on a condition variable: a pool thread after its
// job, waiting for the next one, and the caller waiting for the workers to finish. Waking a sleeping
// thread costs about 100 us on the 2-vCPU CI VM (an idle vCPU is halted and the host must run it
// again): parallel_for over 8 chunks of 196 us on 2 threads took 898 us where 786 is the ideal (803
// with the spin), and a decode-sized GEMM (16 x 4096 x 4096 prepacked, 2 ms) ran at 0.9 of two
// single-threaded processes' rate (0.98-1.0 with the spin).
// OpenMP runtimes spin likewise before blocking (KMP_BLOCKTIME, 200 ms by default); this spin is
// 1000 times shorter, so an idle pool costs at most 0.2 ms of a core after each call.
constexpr std::chrono::microseconds kSpinBeforeSleep{200};

// Spins until ready() or kSpinBeforeSleep has passed; the caller then sleeps if it must.
template <class Ready>
void spin_until(const Ready& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  for (int i = 0;; ++i) {
    if (ready()) return;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return;
  }
}

class WorkerPool {
 public:
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      published_.store(++generation_, std::memory_order_release);  // ends the workers' spins
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Runs chunk(c) for every c in [0, chunks) on the caller and at least `helpers` workers; false
  // (nothing run) when another call holds the pool.
  bool try_run(int64_t chunks, int helpers, const std::function<void(int64_t)>& chunk) {
    std::unique_lock<std::mutex> busy(dispatch_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    uint64_t mine = 0;
    {
      std::lock_guard<std::mutex> lock(m_);
      while (int(workers_.size()) < helpers) workers_.emplace_back([this] { work(); });
      job_ = &chunk;
      chunks_ = chunks;
      next_.store(0);
      finished_ = 0;
      mine = ++generation_;
      published_.store(mine, std::memory_order_release);
    }
    wake_.notify_all();
    const int64_t done = take_chunks(chunk, chunks);
    std::unique_lock<std::mutex> lock(m_);
    finished_ += done;
    // Every chunk finished and no worker still holding this job: only then may `chunk` go away.
    const auto all_done = [&] { return finished_ == chunks_ && active_ == 0; };
    if (!all_done()) {
      lock.unlock();
      spin_until([&] { return settled_.load(std::memory_order_acquire) == mine; });
      lock.lock();
      done_.wait(lock, all_done);
    }
    job_ = nullptr;  // workers that wake late find no job and go back to waiting
    return true;
  }

  // Takes chunk indices until none is left; returns how many it ran.
  static int64_t take_chunks(const std::function<void(int64_t)>& chunk, int64_t chunks, std::atomic<int64_t>& next) {
    int64_t done = 0;
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      t_inside_chunk = true;
      chunk(c);  // never throws: parallel_for's chunk function catches
      t_inside_chunk = false;
      ++done;
    }
    return done;
  }

 private:
  int64_t take_chunks(const std::function<void(int64_t)>& chunk, int64_t chunks) { return take_chunks(chunk, chunks, next_); }

  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      if (!stop_ && !(generation_ != seen && job_)) {
        seen = generation_;  // a job that ended without this worker is not waited for again
        lock.unlock();
        spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
        lock.lock();
        wake_.wait(lock, [&] { return stop_ || (generation_ != seen && job_); });
      }
      if (stop_) return;
      seen = generation_;
      const auto* job = job_;
      const int64_t chunks = chunks_;
      ++active_;
      lock.unlock();
      const int64_t done = take_chunks(*job, chunks);
      lock.lock();
      finished_ += done;
      --active_;
      if (finished_ == chunks_ && active_ == 0) {
        settled_.store(seen, std::memory_order_release);
        done_.notify_all();
      }
    }
  }

  std::mutex dispatch_;  // held by the one call that owns the pool
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t chunks_ = 0;
  int64_t finished_ = 0;
  int active_ = 0;  // workers between taking the job and reporting their chunks
  std::atomic<int64_t> next_{0};
  uint64_t generation_ = 0;
  // Lock-free mirrors for the spins (the state under m_ stays what decides): the newest job's
  // generation, and the generation whose every chunk a worker saw finished.
  std::atomic<uint64_t> published_{0}, settled_{0};
  bool stop_ = false;
};

WorkerPool& pool() {
  static WorkerPool p;
  return p;
}

// The process that created the pool. A forked child has none of its workers (and may have copied a
// mutex in a locked state), so it never touches the pool.
const pid_t g_pool_owner = ::getpid();

}  // namespace

void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  // A few chunks per thread, taken in any order by whichever thread is free: on a shared machine a
  // thread that is descheduled for a while then delays the call by one small chunk, not by half of it.
  constexpr int64_t kChunksPerThread = 4;
  const int64_t helpers_wanted = std::max(threads, 1) - 1;
  const int64_t chunks = std::min<int64_t>((helpers_wanted + 1) * kChunksPerThread, (count + grain - 1) / grain);
  if (chunks <= 1 || helpers_wanted == 0 || t_inside_chunk) {
    fn(0, count);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(chunks));
  const std::function<void(int64_t)> run = [&](int64_t c) {
    const int64_t begin = count * c / chunks, end = count * (c + 1) / chunks;
    try {
      fn(begin, end);
    } catch (...) {
      errors[std::size_t(c)] = std::current_exception();
    }
  };
  const int helpers = int(std::min(helpers_wanted, chunks - 1));
  if (::getpid() != g_pool_owner || !pool().try_run(chunks, helpers, run)) {
    std::atomic<int64_t> next{0};
    std::vector<std::thread> spawned;
    spawned.reserve(std::size_t(helpers));
    for (int h = 0; h < helpers; ++h) spawned.emplace_back([&] { WorkerPool::take_chunks(run, chunks, next); });
    WorkerPool::take_chunks(run, chunks, next);
    for (auto& t : spawned) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

int64_t grain_for_bytes(int64_t bytes_per_item) {
  constexpr int64_t kMinBytesPerThread = 64 * 1024;
  return std::max<int64_t>(1, kMinBytesPerThread / std::max<int64_t>(bytes_per_item, 1));
}

int all_cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace smoothcheck::kernels::cpu
