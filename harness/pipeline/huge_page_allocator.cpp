#include "harness/pipeline/huge_page_allocator.h"

#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

namespace smoothcheck::pipeline {

namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;
constexpr std::size_t kTensorAlignment = 64;  // LibTorch's own (c10/core/alignment.h gAlignment)

void release(void* p) { std::free(p); }

struct HugePageCpuAllocator final : c10::Allocator {
  c10::DataPtr allocate(std::size_t n) const override {
    const bool huge = n >= kHugePage;
    void* p = nullptr;
    if (posix_memalign(&p, huge ? kHugePage : kTensorAlignment, n == 0 ? 1 : n) != 0) throw std::bad_alloc();
    if (huge) advise_huge_pages(p, n);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
};

}  // namespace

// Advice only: a kernel without THP ignores it. A partial 2 MiB page at either end cannot be a huge
// page anyway, so only the whole ones are advised.
void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHugePage - 1) / kHugePage * kHugePage;
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / kHugePage * kHugePage;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

void use_huge_page_cpu_allocator() {
  static HugePageCpuAllocator allocator;
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
}

}  // namespace smoothcheck::pipeline
