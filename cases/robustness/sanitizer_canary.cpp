// One deliberate defect per argument, for the asan preset's sanitizer_reports_* tests: each must make
// its sanitizer print its report (and fail the process), or the preset's clean run proves nothing.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void* volatile leaked = nullptr;  // volatile: the compiler may not drop the allocation

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string defect = argv[1];
  volatile int eight = 8;  // volatile: no defect is folded away at compile time
  if (defect == "heap-overflow") {
    int* p = new int[8]();
    const int v = p[eight];  // one past the end
    delete[] p;
    return v;
  }
  if (defect == "use-after-free") {
    int* p = new int[8]();
    delete[] p;
    return p[eight - 8];
  }
  if (defect == "signed-overflow") {
    volatile int big = INT_MAX;
    const int sum = big + eight;
    return sum == 0;
  }
  if (defect == "leak") {
    leaked = std::malloc(64);
    std::memset(leaked, 1, 64);
    leaked = nullptr;  // unreachable now: LeakSanitizer reports it at exit
    return 0;
  }
  return 2;
}
