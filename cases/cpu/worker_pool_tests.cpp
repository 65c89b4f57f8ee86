// The worker pool behind parallel_for (kernels/cpu/parallel_for.cpp) waits in two ways: a thread spins
// on a flag for a while (kSpinBeforeSleep, 200 us), then sleeps on a condition variable. Both ways must
// hold what parallel_for promises, whichever one a call meets:
// - a worker joins a call both while it still spins after the previous call and after it fell asleep;
// - parallel_for returns only once every chunk has finished, also when a worker's chunk outlasts the
//   caller's spin.
// Results alone cannot show the first (the caller runs every chunk itself when no worker comes), so the
// chunks here meet at a rendezvous that only two threads at once can pass.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "kernels/cpu/parallel_for.h"

namespace smoothcheck {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Two chunks on two threads, each waiting (up to 10 s) until both have arrived: true when both met,
// i.e. a second thread ran a chunk while the first waited.
bool two_threads_meet() {
  std::atomic<int> arrived{0};
  std::atomic<bool> met{true};
  kernels::cpu::parallel_for(2, 1, 2, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      arrived.fetch_add(1);
      const auto deadline = steady_clock::now() + std::chrono::seconds(10);
      while (arrived.load() < 2)
        if (steady_clock::now() > deadline) {
          met = false;
          return;
        }
    }
  });
  return met.load();
}

TEST(WorkerPool, AWorkerJoinsRightAfterACallWhileItStillSpins) {
  ASSERT_TRUE(two_threads_meet());  // the pool's worker exists from here on
  for (int call = 0; call < 50; ++call) ASSERT_TRUE(two_threads_meet()) << "call " << call << ", no pause before it";
}

TEST(WorkerPool, AWorkerJoinsAfterItFellAsleep) {
  ASSERT_TRUE(two_threads_meet());
  for (int call = 0; call < 5; ++call) {
    std::this_thread::sleep_for(milliseconds(20));  // 100 times the spin: the worker sleeps by now
    ASSERT_TRUE(two_threads_meet()) << "call " << call << ", 20 ms after the previous one";
  }
}

// Eight chunks of 2 ms each on two threads: the worker's last chunk ends long after the caller has run
// out of chunks and of spinning, so the caller must then sleep until it is told, not return.
TEST(WorkerPool, ReturnsOnlyWhenEveryChunkHasFinished) {
  for (int call = 0; call < 10; ++call) {
    std::vector<std::atomic<bool>> finished(8);
    kernels::cpu::parallel_for(8, 1, 2, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        std::this_thread::sleep_for(milliseconds(2));
        finished[std::size_t(c)] = true;
      }
    });
    for (std::size_t c = 0; c < finished.size(); ++c)
      ASSERT_TRUE(finished[c].load()) << "call " << call << ": chunk " << c
                                      << " had not finished when parallel_for returned";
  }
}

}  // namespace
}  // namespace smoothcheck
