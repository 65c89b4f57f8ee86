// The smoothcheck command: one sub-command per job (commands.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "harness/cli/commands.h"
#include "harness/pipeline/huge_page_allocator.h"

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
  // Large LibTorch tensors in transparent huge pages (huge_page_allocator.h). glibc's mmap threshold is
  // left dynamic: fixing it low met quantize's RSS budget but made every large tensor a fresh mapping,
  // faulted in again each time (sweep at 1.1B: 30 % slower); reports/pipeline_scale.md.
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
