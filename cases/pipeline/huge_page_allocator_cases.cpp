// use_huge_page_cpu_allocator (harness/pipeline/huge_page_allocator.h): LibTorch tensors of 2 MiB and
// more start on a 2 MiB boundary and, where the kernel grants transparent huge pages on request, are
// backed by them once touched (read back from /proc/self/smaps: without the madvise a fresh mapping in
// "madvise" mode gets none); smaller tensors keep LibTorch's 64-byte alignment; the allocator's memory
// holds what is written to it.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "harness/pipeline/huge_page_allocator.h"

namespace smoothcheck::pipeline {
namespace {

std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  const auto open = line.find('['), close = line.find(']');
  return open == std::string::npos || close == std::string::npos ? "" : line.substr(open + 1, close - open - 1);
}

// AnonHugePages (kB) of the mapping that holds p, from /proc/self/smaps; -1 when none is found.
long anon_huge_kb_at(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("AnonHugePages:", 0) == 0) return std::stol(line.substr(14));
  }
  return -1;
}

TEST(HugePageCpuAllocator, AlignsLargeTensorsAndKeepsSmallOnes) {
  use_huge_page_cpu_allocator();
  const at::Tensor large = at::empty({8 << 20}, at::kByte);
  const at::Tensor small = at::empty({100}, at::kFloat);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(large.data_ptr()) % (2u << 20), 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data_ptr()) % 64u, 0u);
  const at::Tensor values = at::arange(1 << 20, at::kFloat);  // 4 MiB, through the allocator
  EXPECT_EQ(values.sum().item<double>(), double(1 << 20) * ((1 << 20) - 1) / 2);
}

TEST(HugePageCpuAllocator, LargeTensorsGetHugePagesWhereTheKernelGrantsThem) {
  const std::string mode = thp_mode();
  if (mode != "madvise" && mode != "always")
    GTEST_SKIP() << "transparent huge pages are '" << mode << "' here: the advice has nothing to act on";
  use_huge_page_cpu_allocator();
  at::Tensor t = at::empty({16 << 20}, at::kByte);
  t.fill_(1);  // first touch: the faults that now come in 2 MiB pages
  const long kb = anon_huge_kb_at(t.data_ptr());
  ASSERT_GE(kb, 0) << "no mapping holds the tensor";
  // A huge page can be refused under memory pressure or fragmentation; most of 16 MiB should not be.
  EXPECT_GE(kb, 8 * 1024) << "16 MiB touched, " << kb << " kB of it in huge pages";
}

}  // namespace
}  // namespace smoothcheck::pipeline
