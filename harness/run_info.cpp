#include "harness/run_info.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "kernels/cpu/cpu_backend.h"

#ifdef SMOOTHCHECK_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#ifndef SMOOTHCHECK_GIT_COMMIT
#define SMOOTHCHECK_GIT_COMMIT "unknown"
#endif
#ifndef SMOOTHCHECK_BUILD_TYPE
#define SMOOTHCHECK_BUILD_TYPE "unknown"
#endif

namespace smoothcheck {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      std::size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

std::string utc_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

// The first CUDA device, or why there is none: a result without a GPU must say so, not leave it blank.
std::string gpu_model() {
#ifdef SMOOTHCHECK_HAVE_CUDA
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return std::string("none (") + cudaGetErrorString(status) + ")";
  if (count == 0) return "none (no CUDA device)";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "unknown CUDA device";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
         std::to_string(count) + " device" + (count > 1 ? "s)" : ")");
#else
  return "none (built without CUDA)";
#endif
}

}  // namespace

nlohmann::json run_info() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return {
      {"date", utc_now()},
      {"host", host},
      {"cpu", cpu_model()},
      {"cpu_threads", std::thread::hardware_concurrency()},
      {"cpu_avx2", kernels::cpu_supports_avx2()},
      {"gpu", gpu_model()},
      {"compiler", std::string("gcc-compatible ") + __VERSION__},
      {"build_type", SMOOTHCHECK_BUILD_TYPE},
      {"git_commit", SMOOTHCHECK_GIT_COMMIT},
  };
}

}  // namespace smoothcheck
