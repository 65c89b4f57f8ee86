#include <thread>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#include "kernels/cpu/cpu_backend_impl.h"

namespace smoothcheck::kernels {

bool cpu_supports_avx2() {
  // Read once: CPUID exits to the hypervisor in a virtual machine, and verify asks once per row (a call
  // per row took 46 % of verify's CPU time at 1.1B on a KVM guest).
  static const bool supported = [] {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    // F16C is CPUID leaf 1, ECX bit 29, read directly: clang 14's __builtin_cpu_supports has no "f16c".
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
    return false;  // the *_avx2.cpp files are x86-64 only; see CMakeLists.txt
#endif
  }();
  return supported;
}

CpuBackend::CpuBackend(const CpuBackendOptions& options) {
  switch (options.isa) {
    case CpuIsa::best: isa_ = cpu_supports_avx2() ? CpuIsa::avx2 : CpuIsa::scalar; break;
    case CpuIsa::scalar: isa_ = CpuIsa::scalar; break;
    case CpuIsa::avx2:
      if (!cpu_supports_avx2()) throw KernelError("cpu: the AVX2 path needs AVX2, FMA and F16C, which this CPU lacks");
      isa_ = CpuIsa::avx2;
      break;
    default: throw KernelError("cpu: unknown CpuIsa value");
  }
  if (options.threads < 0) throw KernelError("cpu: threads must be >= 0 (0: one per hardware thread)");
  threads_ = options.threads;
  if (threads_ == 0) threads_ = int(std::thread::hardware_concurrency());
  if (threads_ <= 0) threads_ = 1;
}

std::string CpuBackend::name() const { return isa_ == CpuIsa::avx2 ? "cpu-avx2" : "cpu-scalar"; }

bool CpuBackend::available(std::string* why_not) const {
  if (why_not) why_not->clear();
  return true;  // the constructor refused an unsupported ISA
}

std::unique_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace smoothcheck::kernels
