// LibTorch's CPU allocator replaced by one that asks for transparent huge pages for every tensor of
// 2 MiB or more (madvise(MADV_HUGEPAGE) on a 2 MiB-aligned block, before its first touch). The pipeline
// copies each tensor of a checkpoint out of the file into a fresh LibTorch tensor: at 1.1B that is
// over a million 4 KiB page faults, a third of quantize's CPU time in the kernel. Where the kernel's
// THP mode is "madvise" (this project's VMs) or "always", each 2 MiB is one fault; where it is "never",
// nothing changes. Memory is otherwise what LibTorch's default allocator gives (64-byte alignment,
// posix_memalign, free).
#pragma once

#include <cstddef>

namespace smoothcheck::pipeline {

// Installs the allocator for the rest of the process (idempotent). smoothcheck's main calls it.
void use_huge_page_cpu_allocator();

// The same advice for a buffer not yet touched (a std::vector reserved, not yet resized): its whole
// 2 MiB-aligned pages, where the kernel's THP mode allows. The layer passes' float32 buffers
// (FloatBufferPool) are read a column strip at a time by the weight statistic: with 4 KiB pages every
// row of a strip was another TLB miss.
void advise_huge_pages(void* p, std::size_t bytes);

}  // namespace smoothcheck::pipeline
