#include "harness/run_info.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "kernels/cpu/cpu_backend.h"

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
      {"compiler", std::string("gcc-compatible ") + __VERSION__},
      {"build_type", SMOOTHCHECK_BUILD_TYPE},
      {"git_commit", SMOOTHCHECK_GIT_COMMIT},
  };
}

}  // namespace smoothcheck
