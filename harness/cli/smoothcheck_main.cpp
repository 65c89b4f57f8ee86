// The smoothcheck command: one sub-command per job (commands.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "harness/cli/commands.h"
#include "harness/pipeline/huge_page_allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

void print_usage(std::ostream& out) {
  out << "usage: smoothcheck <command> [options]\n\n"
         "SmoothQuant (W8A8 int8) kernel verification: production kernels beside a float64 reference.\n\n"
         "commands:\n";
  for (const smoothcheck::cli::Command& c : smoothcheck::cli::kCommands) {
    std::string name = c.name;
    name.resize(11, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\n`smoothcheck <command> --help` describes each command.\n";
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // The pipeline holds one layer at a time in buffers of a few MB to 200 MB and frees them before the
  // next layer. glibc raises its mmap threshold after the first such buffer is freed (up to 32 MiB), so
  // later buffers below it come from the heap, which fragments and keeps its peak: quantize of the
  // 1.1B checkpoint peaked at 786 MB that way and at 582 MB with a fixed threshold (which also turns
  // the dynamic adjustment off), every buffer from 256 KiB up mapped and returned on free
  // (reports/pipeline_scale.md).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  smoothcheck::pipeline::use_huge_page_cpu_allocator();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage(std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    for (const smoothcheck::cli::Command& c : smoothcheck::cli::kCommands)
      if (command == c.name) return c.run(argc - 2, argv + 2);
    std::cerr << "smoothcheck: unknown command '" << command << "'\n";
    print_usage(std::cerr);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "smoothcheck " << command << ": " << e.what() << "\n";
    return 2;
  }
}
