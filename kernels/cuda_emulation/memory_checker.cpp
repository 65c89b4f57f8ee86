#include "kernels/cuda_emulation/memory_checker.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel_api.h"

namespace smoothcheck::cuda_emulation {

namespace {

constexpr std::size_t kDeviceReserve = std::size_t(64) << 30;  // address range, not memory
constexpr std::size_t kDeviceGap = std::size_t(64) << 10;      // mapped, never allocated: overruns land here
constexpr std::size_t kDeviceAlign = 256;                       // cudaMalloc's alignment
constexpr std::size_t kSharedLimit = 48 << 10;                  // static shared memory per block
constexpr std::size_t kSharedGap = 64;
constexpr std::size_t kArenaBytes = 2 * kSharedLimit;           // variables and the gaps between them
constexpr unsigned char kPoison = 0xa5;
constexpr uint16_t kManyReaders = 0xffff;

std::string hex(const void* p) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", p);
  return text;
}

// ---- global memory -------------------------------------------------------------------------------------
struct DeviceMemory {
  char* base = nullptr;
  std::size_t next = 0;
  std::map<std::uintptr_t, std::size_t> live;  // begin -> bytes
  mutable std::uintptr_t last_begin = 0, last_end = 0;

  DeviceMemory() {
    void* p = mmap(nullptr, kDeviceReserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    base = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  ~DeviceMemory() {
    if (base) munmap(base, kDeviceReserve);
  }
};

// Per host thread: the backend's calls are synchronous, so an allocation is made, used by kernels
// and freed on the thread that called the backend, and no lock is needed on the per-access path. The
// thread_local is a plain pointer (no per-access initialisation guard); the object lives as long as the
// thread.
DeviceMemory& device() {
  static thread_local DeviceMemory* d = nullptr;
  if (!d) {
    static thread_local std::unique_ptr<DeviceMemory> owner(new DeviceMemory());
    d = owner.get();
  }
  return *d;
}

// ---- shared memory ---------------------------------------------------------------------------------------
struct SharedVariable {
  const void* key;
  std::size_t offset, bytes;
  const char* name;
};

struct ShadowByte {
  uint64_t write_epoch = 0, read_epoch = 0;
  uint16_t writer = 0, reader = 0;
  uint16_t pending = 0;  // 1 + the thread whose cp.async to this byte has not been waited for; 0: none
};

struct SharedMemory {
  char* arena;
  std::size_t used = 0;
  std::vector<SharedVariable> variables;
  std::vector<ShadowByte> shadow;
  SharedMemory() : arena(static_cast<char*>(std::aligned_alloc(4096, kArenaBytes))), shadow(kArenaBytes) {}
  ~SharedMemory() { std::free(arena); }
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  bool contains_address(const void* p) const {
    return static_cast<const char*>(p) >= arena && static_cast<const char*>(p) < arena + kArenaBytes;
  }
};

SharedMemory& shared() {
  static thread_local SharedMemory* s = nullptr;
  if (!s) {
    static thread_local std::unique_ptr<SharedMemory> owner(new SharedMemory());
    s = owner.get();
  }
  return *s;
}

std::string thread_name(int linear) {
  const dim3& b = current_block_dim();
  const unsigned x = unsigned(linear) % b.x, y = unsigned(linear) / b.x % b.y, z = unsigned(linear) / (b.x * b.y);
  return "thread (" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}

// "smem+130", or where an access outside every variable lies relative to the nearest one.
std::string shared_location(std::size_t offset, std::size_t size) {
  const SharedMemory& s = shared();
  const SharedVariable* below = nullptr;  // the variable starting last at or before offset
  for (const SharedVariable& v : s.variables) {
    if (offset >= v.offset && offset + size <= v.offset + v.bytes)
      return std::string(v.name) + "+" + std::to_string(offset - v.offset);
    if (v.offset <= offset && (!below || v.offset > below->offset)) below = &v;
  }
  if (below)
    return offset >= below->offset + below->bytes
               ? std::to_string(offset - (below->offset + below->bytes)) + " bytes past the end of " + below->name +
                     " (" + std::to_string(below->bytes) + " bytes)"
               : std::string(below->name) + "+" + std::to_string(offset - below->offset) + ", running " +
                     std::to_string(offset + size - (below->offset + below->bytes)) + " bytes past its end (" +
                     std::to_string(below->bytes) + " bytes)";
  if (!s.variables.empty())
    return std::to_string(s.variables.front().offset - offset) + " bytes before " + s.variables.front().name;
  return "shared offset " + std::to_string(offset) + " (no __shared__ variable is declared)";
}

bool inside_one_variable(std::size_t offset, std::size_t size) {
  for (const SharedVariable& v : shared().variables)
    if (offset >= v.offset && offset + size <= v.offset + v.bytes) return true;
  return false;
}

}  // namespace

void* device_allocate(std::size_t bytes) {
  DeviceMemory& d = device();
  if (!d.base) return nullptr;
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096;
  if (d.next + rounded + kDeviceGap > kDeviceReserve) {
    if (!d.live.empty()) return nullptr;
    d.next = 0;  // every allocation was freed: start the range again
  }
  char* p = d.base + d.next;
  if (mprotect(p, rounded + kDeviceGap, PROT_READ | PROT_WRITE) != 0) return nullptr;
  std::memset(p, kPoison, bytes);
  d.next += rounded + kDeviceGap;
  d.next = (d.next + kDeviceAlign - 1) / kDeviceAlign * kDeviceAlign;
  d.live[reinterpret_cast<std::uintptr_t>(p)] = bytes;
  return p;
}

bool device_free(void* p) {
  DeviceMemory& d = device();
  const auto it = d.live.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == d.live.end()) return false;
  const std::size_t rounded = (std::max<std::size_t>(it->second, 1) + 4095) / 4096 * 4096;
  madvise(p, rounded + kDeviceGap, MADV_DONTNEED);
  mprotect(p, rounded + kDeviceGap, PROT_NONE);
  d.live.erase(it);
  d.last_begin = d.last_end = 0;
  return true;
}

bool is_device_pointer(const void* p, std::size_t bytes) {
  DeviceMemory& d = device();
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto it = d.live.upper_bound(a);
  if (it == d.live.begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->first + it->second;
}

void* shared_variable(const void* key, std::size_t bytes, std::size_t align, const char* name) {
  SharedMemory& s = shared();
  for (const SharedVariable& v : s.variables)
    if (v.key == key) return s.arena + v.offset;
  std::size_t offset = (s.used + kSharedGap + align - 1) / align * align;
  std::size_t total = bytes;
  for (const SharedVariable& v : s.variables) total += v.bytes;
  if (total > kSharedLimit || offset + bytes + kSharedGap > kArenaBytes)
    throw kernels::KernelError(std::string("__shared__ ") + name + ": the block's static shared memory exceeds 48 KiB");
  s.variables.push_back({key, offset, bytes, name});
  s.used = offset + bytes;
  std::memset(s.arena + offset, kPoison, bytes);
  return s.arena + offset;
}

void begin_block_memory() {
  SharedMemory& s = shared();
  // A copy never waited for leaves its pending marks; epochs only grow, so nothing else can match.
  for (std::size_t i = 0; i < s.used; ++i) s.shadow[i].pending = 0;
  s.variables.clear();
  s.used = 0;
}

thread_local CheckedRanges checked_ranges;

void check_shared_access(const char* p, std::size_t size, bool write) {
  SharedMemory& s = shared();
  const std::size_t offset = std::size_t(p - s.arena);
  const char* kind = write ? "write" : "read";
  if (!inside_one_variable(offset, size))
    report("out-of-bounds shared " + std::string(kind) + " of " + std::to_string(size) + " bytes at " +
           shared_location(offset, size));
  const ThreadContext& t = current_thread();
  const uint16_t me = uint16_t(t.linear);
  const uint64_t epoch = current_epoch();
  for (std::size_t i = 0; i < size; ++i) {
    ShadowByte& b = s.shadow[offset + i];
    if (b.pending)
      report("shared " + std::string(kind) + " of " + shared_location(offset + i, 1) + ", the destination of a cp.async by " +
             thread_name(b.pending - 1) + " that has not been waited for (cp.async.wait_group)");
    if (b.write_epoch == epoch && b.writer != me)
      report("shared-memory race: " + std::string(kind) + " of " + shared_location(offset + i, 1) + " written by " +
             thread_name(b.writer) + " with no __syncthreads between");
    if (write && b.read_epoch == epoch && b.reader != me)
      report("shared-memory race: write of " + shared_location(offset + i, 1) + " read by " +
             (b.reader == kManyReaders ? std::string("other threads") : thread_name(b.reader)) +
             " with no __syncthreads between");
    if (write) {
      b.write_epoch = epoch;
      b.writer = me;
    } else if (b.read_epoch == epoch && b.reader != me) {
      b.reader = kManyReaders;
    } else if (b.read_epoch != epoch) {
      b.read_epoch = epoch;
      b.reader = me;
    }
  }
}

void check_device_access(const char* p, std::size_t size, bool write) {
  DeviceMemory& d = device();
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a >= d.last_begin && a + size <= d.last_end) return;
  auto it = d.live.upper_bound(a);
  if (it != d.live.begin()) {
    const auto& [begin, bytes] = *std::prev(it);
    if (a >= begin && a + size <= begin + bytes) {
      d.last_begin = begin;
      d.last_end = begin + bytes;
      return;
    }
    if (a < begin + bytes + kDeviceGap)
      report("out-of-bounds global " + std::string(write ? "write" : "read") + " of " + std::to_string(size) +
             " bytes at " + hex(p) + ": " + std::to_string(a + size - (begin + bytes)) +
             " bytes past the end of a " + std::to_string(bytes) + "-byte cudaMalloc allocation");
  }
  report("global " + std::string(write ? "write" : "read") + " of " + std::to_string(size) + " bytes at " + hex(p) +
         ", which is in no live cudaMalloc allocation (freed, or far out of bounds)");
}


void enter_kernel_memory() {
  checked_ranges = {shared().arena, kArenaBytes, device().base, device().base ? kDeviceReserve : 0};
}
void leave_kernel_memory() { checked_ranges = {}; }

void cp_async_issue(void* dst, const void* src, int bytes) {
  SharedMemory& s = shared();
  char* d = static_cast<char*>(dst);
  if (!s.contains_address(d) || !inside_one_variable(std::size_t(d - s.arena), std::size_t(bytes)))
    report("cp.async to " + (s.contains_address(d) ? shared_location(std::size_t(d - s.arena), std::size_t(bytes))
                                                   : hex(dst) + ", which is not shared memory"));
  if (reinterpret_cast<std::uintptr_t>(dst) % std::uintptr_t(bytes) || reinterpret_cast<std::uintptr_t>(src) % std::uintptr_t(bytes))
    report("cp.async of " + std::to_string(bytes) + " bytes with a misaligned address");
  check_device_access(static_cast<const char*>(src), std::size_t(bytes), false);
  // The copy may land at any time until the wait: another thread's read of these bytes in this epoch
  // is a race with it, as a write would be.
  const std::size_t offset = std::size_t(d - s.arena);
  const uint16_t me = uint16_t(current_thread().linear);
  const uint64_t epoch = current_epoch();
  for (int i = 0; i < bytes; ++i) {
    ShadowByte& b = s.shadow[offset + std::size_t(i)];
    if ((b.read_epoch == epoch && b.reader != me) || (b.write_epoch == epoch && b.writer != me))
      report("shared-memory race: cp.async into " + shared_location(offset + std::size_t(i), 1) + ", which " +
             (b.read_epoch == epoch && b.reader != me
                  ? (b.reader == kManyReaders ? std::string("other threads") : thread_name(b.reader)) + " read"
                  : thread_name(b.writer) + " wrote") +
             " with no __syncthreads between");
    if (b.pending) report("cp.async into " + shared_location(offset + std::size_t(i), 1) + ", already the destination of a pending cp.async");
    b.pending = uint16_t(me + 1);
  }
  current_thread().open_group.push_back({dst, src, bytes});
}

void cp_async_complete(const PendingCopy& c) {
  SharedMemory& s = shared();
  std::memcpy(c.dst, c.src, std::size_t(c.bytes));
  const std::size_t offset = std::size_t(static_cast<char*>(c.dst) - s.arena);
  const uint16_t me = uint16_t(current_thread().linear);
  const uint64_t epoch = current_epoch();
  for (int i = 0; i < c.bytes; ++i) {
    ShadowByte& b = s.shadow[offset + std::size_t(i)];
    b.pending = 0;
    b.write_epoch = epoch;
    b.writer = me;
  }
}

}  // namespace smoothcheck::cuda_emulation
