#include "harness/pipeline/interrupt_cleanup.h"

#include <dirent.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace smoothcheck::pipeline {

namespace {

enum SlotState : int { kEmpty, kArmed, kCommitting, kCleaning };

constexpr int kSlots = 4;
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int kSignalCount = sizeof(kSignals) / sizeof(kSignals[0]);

struct Slot {
  std::atomic<int> state{kEmpty};
  char path[PATH_MAX] = {};
};

Slot g_slots[kSlots];
std::atomic<int> g_pending_signal{0};  // arrived while a slot was committing
struct sigaction g_previous[kSignalCount];
int g_armed_count = 0;  // guarded by g_install_mutex (never touched by the handler)
std::mutex g_install_mutex;

static_assert(std::atomic<int>::is_always_lock_free, "the handler needs lock-free atomics");

// Deletes everything under the directory open as dir_fd (depth-limited), with raw syscalls only.
void remove_contents(int dir_fd, int depth) {
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir_fd, buf, sizeof buf);
    if (n <= 0) return;
    for (long off = 0; off < n;) {
      struct Entry {
        ino64_t ino;
        off64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const auto* e = reinterpret_cast<const Entry*>(buf + off);
      off += e->reclen;
      if (std::strcmp(e->name, ".") == 0 || std::strcmp(e->name, "..") == 0) continue;
      if (e->type == DT_DIR) {
        if (depth <= 0) continue;
        const int sub = ::openat(dir_fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
          remove_contents(sub, depth - 1);
          ::close(sub);
        }
        ::unlinkat(dir_fd, e->name, AT_REMOVEDIR);
      } else {
        ::unlinkat(dir_fd, e->name, 0);
      }
    }
  }
}

// Other threads may still be writing into the stage: repeat until the directory itself is gone
// (after which their file creations fail) or the attempts run out.
void remove_stage(const char* path) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;  // already gone (or renamed into place just before)
    remove_contents(fd, 4);
    ::close(fd);
    if (::rmdir(path) == 0 || errno == ENOENT) return;
  }
}

int signal_index(int sig) {
  for (int i = 0; i < kSignalCount; ++i)
    if (kSignals[i] == sig) return i;
  return -1;
}

[[noreturn]] void reraise(int sig) {
  const int i = signal_index(sig);
  if (i >= 0) ::sigaction(sig, &g_previous[i], nullptr);
  if (i < 0 || g_previous[i].sa_handler == SIG_IGN || g_previous[i].sa_handler == SIG_DFL) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);  // a previous handler that returned: still end, as the signal asked
}

void on_interrupt(int sig) {
  const int saved_errno = errno;
  bool committing = false;
  for (Slot& s : g_slots) {
    int expected = kArmed;
    if (s.state.compare_exchange_strong(expected, kCleaning)) {
      remove_stage(s.path);
    } else if (expected == kCommitting) {
      committing = true;
    }
  }
  if (committing) {
    // end_commit() re-raises once the rename is done.
    g_pending_signal.store(sig);
    errno = saved_errno;
    return;
  }
  reraise(sig);
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : kSignals) ::sigaddset(&sa.sa_mask, sig);  // one cleanup at a time
  for (int i = 0; i < kSignalCount; ++i) ::sigaction(kSignals[i], &sa, &g_previous[i]);
}

void restore_handlers() {
  for (int i = 0; i < kSignalCount; ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
}

}  // namespace

InterruptCleanup::InterruptCleanup(const std::string& pattern) : unarmed_pattern_(pattern) {
  const std::string p = std::filesystem::absolute(pattern).string();
  if (p.size() >= PATH_MAX) return;
  std::lock_guard<std::mutex> lock(g_install_mutex);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].state.load() != kEmpty) continue;
    std::memcpy(g_slots[i].path, p.c_str(), p.size() + 1);
    if (g_armed_count++ == 0) install_handlers();
    g_slots[i].state.store(kArmed);
    slot_ = i;
    return;
  }
}

std::filesystem::path InterruptCleanup::make_directory() {
  // mkdtemp fills in the name in place: armed, the handler reads the slot's buffer, which at every
  // instant names either nothing yet or the directory just made.
  char* name = slot_ >= 0 ? g_slots[slot_].path : unarmed_pattern_.data();
  if (::mkdtemp(name) == nullptr)
    throw std::runtime_error("cannot create a temporary directory " + std::string(name) + ": " + std::strerror(errno));
  return name;
}

InterruptCleanup::~InterruptCleanup() {
  if (slot_ < 0) return;
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_slots[slot_].state.exchange(kEmpty) == kCleaning) {
    for (;;) ::pause();  // the handler is removing the stage and will end the process
  }
  if (--g_armed_count == 0) restore_handlers();
}

void InterruptCleanup::begin_commit() {
  if (slot_ < 0) return;
  int expected = kArmed;
  if (!g_slots[slot_].state.compare_exchange_strong(expected, kCommitting)) {
    for (;;) ::pause();  // kCleaning: never rename a stage the handler is emptying
  }
}

void InterruptCleanup::end_commit(bool renamed) {
  if (slot_ < 0) return;
  // Renamed: the stage is the output now and nothing of it may be removed. Not renamed: the stage is
  // still a stage, to be removed on interrupt as before.
  g_slots[slot_].state.store(renamed ? kEmpty : kArmed);
  if (const int sig = g_pending_signal.exchange(0); sig != 0) {
    if (!renamed && g_slots[slot_].state.exchange(kCleaning) == kArmed) remove_stage(g_slots[slot_].path);
    reraise(sig);
  }
}

}  // namespace smoothcheck::pipeline
