// The emulated kernels are compiled with gcc's -fsanitize=thread instrumentation, which calls a
// function before every memory access the optimised code still makes (__tsan_read4(addr), ...). This
// file is what those calls reach instead of ThreadSanitizer's runtime (which is never linked): each
// access goes to the memory checker. Accesses outside an emulated kernel, and to memory the emulation
// does not own (stacks, the host's tables), return at once. Compiled without the instrumentation.
#include <cstddef>

#include "kernels/cuda_emulation/memory_checker.h"

namespace {

inline void read(const void* p, std::size_t n) { smoothcheck::cuda_emulation::check_access(p, n, false); }
inline void write(const void* p, std::size_t n) { smoothcheck::cuda_emulation::check_access(p, n, true); }

}  // namespace

extern "C" {

// NOLINTBEGIN(bugprone-reserved-identifier): the names are the instrumentation's ABI.
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_ignore_thread_begin() {}
void __tsan_ignore_thread_end() {}

void __tsan_read1(void* p) { read(p, 1); }
void __tsan_read2(void* p) { read(p, 2); }
void __tsan_read4(void* p) { read(p, 4); }
void __tsan_read8(void* p) { read(p, 8); }
void __tsan_read16(void* p) { read(p, 16); }
void __tsan_write1(void* p) { write(p, 1); }
void __tsan_write2(void* p) { write(p, 2); }
void __tsan_write4(void* p) { write(p, 4); }
void __tsan_write8(void* p) { write(p, 8); }
void __tsan_write16(void* p) { write(p, 16); }
void __tsan_unaligned_read2(const void* p) { read(p, 2); }
void __tsan_unaligned_read4(const void* p) { read(p, 4); }
void __tsan_unaligned_read8(const void* p) { read(p, 8); }
void __tsan_unaligned_read16(const void* p) { read(p, 16); }
void __tsan_unaligned_write2(void* p) { write(p, 2); }
void __tsan_unaligned_write4(void* p) { write(p, 4); }
void __tsan_unaligned_write8(void* p) { write(p, 8); }
void __tsan_unaligned_write16(void* p) { write(p, 16); }
void __tsan_volatile_read1(void* p) { read(p, 1); }
void __tsan_volatile_read2(void* p) { read(p, 2); }
void __tsan_volatile_read4(void* p) { read(p, 4); }
void __tsan_volatile_read8(void* p) { read(p, 8); }
void __tsan_volatile_read16(void* p) { read(p, 16); }
void __tsan_volatile_write1(void* p) { write(p, 1); }
void __tsan_volatile_write2(void* p) { write(p, 2); }
void __tsan_volatile_write4(void* p) { write(p, 4); }
void __tsan_volatile_write8(void* p) { write(p, 8); }
void __tsan_volatile_write16(void* p) { write(p, 16); }
void __tsan_read_range(void* p, unsigned long n) { read(p, n); }
void __tsan_write_range(void* p, unsigned long n) { write(p, n); }
void __tsan_vptr_read(void**) {}
void __tsan_vptr_update(void**, void*) {}
// NOLINTEND(bugprone-reserved-identifier)

}  // extern "C"
