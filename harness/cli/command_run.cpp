#include "harness/cli/commands.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/backends.h"
#include "harness/differential/case_registry.h"
#include "harness/differential/case_runner.h"
#include "harness/cli/arg_reader.h"
#include "harness/report/results_builders.h"
#include "harness/differential/repro_writer.h"
#include "harness/run_info.h"

namespace smoothcheck {

namespace {

const char* kRunUsage = R"(usage: smoothcheck run [--backend NAME]... [--filter PATTERN] [--json FILE]
                        [--max-work N] [--repro-dir DIR] [--list] [--verbose]

Runs the built-in case tables of every kernel family on a backend beside the float64 reference and
prints, per family and backend, how many cases passed, were incorrect, raised a kernel error or were
waived (with the reason). Exits 1 when any case is incorrect or raised a kernel error, 2 for bad
arguments or a filter that matches no case.

  --backend NAME     cpu (default), cpu-scalar, cpu-avx2, cuda, cuda-cublaslt, or all; may repeat
  --filter PATTERN   only cases whose "family/case" name contains PATTERN (or matches it as a glob
                     with * and ?), e.g. --filter 'quantize_per_token/*bf16*'
  --json FILE        also write the results as a versioned JSON document (schema smoothcheck.results/2,
                     harness/report/results_document.h), the input of `smoothcheck report`
  --max-work N       waive (with the reason, never pass) cases larger than N elements or multiply-adds:
                     a quick subset, e.g. for CI's report
  --repro-dir DIR    where failing cases write their repro folder (default: smoothcheck-repro)
  --list             print the case names and exit
  --verbose          print every case, not only the failing ones
)";

struct Tally {
  int passed = 0, incorrect = 0, kernel_error = 0, waived = 0;
  std::string waive_reason;
};

}  // namespace

int command_run(int argc, char** argv) {
  std::vector<std::string> backends;
  RunOptions options;
  options.repro_dir = "smoothcheck-repro";
  std::string json_path;
  bool list = false, verbose = false;
  for (cli::ArgReader args(argc, argv); args.next();) {
    const std::string arg = args.current();
    const auto value = [&args] { return args.value(); };
    if (args.help()) { std::cout << kRunUsage; return 0; }
    else if (arg == "--backend") backends.push_back(value());
    else if (arg == "--filter") options.filter = value();
    else if (arg == "--json") json_path = value();
    else if (arg == "--repro-dir") options.repro_dir = value();
    else if (arg == "--max-work") {
      const std::string n = value();
      options.max_work = cli::parse_int("--max-work", n, 1);
      options.waive_large_reason = "larger than --max-work " + n;
    }
    else if (arg == "--list") list = true;
    else if (arg == "--verbose") verbose = true;
    else throw std::invalid_argument("unknown argument '" + arg + "'\n" + kRunUsage);
  }
  if (backends.empty()) backends.push_back("cpu");
  if (backends.size() == 1 && backends[0] == "all") backends = backend_names();

  std::vector<Family> families = registered_families();
  if (list) {
    for (const Family& f : families)
      for (const auto& c : f.cases())
        if (matches_filter(f.name + "/" + c->name(), options.filter)) std::cout << f.name << "/" << c->name() << "\n";
    return 0;
  }

  report::RunResultsBuilder results(run_info(), options.filter, backends);
  std::map<std::pair<std::string, std::string>, Tally> tallies;  // (family, backend)
  std::vector<std::string> order;
  bool any_bad = false;
  for (const std::string& backend_name : backends) {
    auto backend = make_backend(backend_name);
    run_families(families, *backend, options, [&](const CaseReport& report) {
      Tally& t = tallies[{report.family, backend_name}];
      const CaseResult& res = report.result;
      switch (res.outcome) {
        case Outcome::passed: ++t.passed; break;
        case Outcome::incorrect: ++t.incorrect; break;
        case Outcome::kernel_error: ++t.kernel_error; break;
        case Outcome::waived: ++t.waived; t.waive_reason = res.reason; break;
        case Outcome::not_verified: break;
      }
      bool bad = res.outcome == Outcome::incorrect || res.outcome == Outcome::kernel_error;
      any_bad = any_bad || bad;
      if (bad || verbose) {
        std::cout << to_string(res.outcome) << "  " << backend_name << "  " << report.family << "/" << report.case_name << "\n";
        for (const std::string& f : res.failures) std::cout << "    " << f << "\n";
        if (!res.reason.empty() && res.outcome != Outcome::waived) std::cout << "    " << res.reason << "\n";
        if (!report.repro_path.empty()) std::cout << "    repro: " << report.repro_path << "\n";
      }
      results.add(report.family, report.case_name, backend_name, to_string(res.outcome), res.failures, res.reason,
                  res.metrics, res.notes, report.repro_path);
    });
  }

  if (tallies.empty()) {
    std::cerr << "smoothcheck run: no case matches --filter '" << options.filter << "' (see --list)\n";
    return 2;
  }
  std::printf("\n%-22s %-14s %8s %10s %13s %7s\n", "family", "backend", "passed", "incorrect", "kernel_error", "waived");
  Tally total;
  for (const auto& [key, t] : tallies) {
    std::printf("%-22s %-14s %8d %10d %13d %7d%s\n", key.first.c_str(), key.second.c_str(), t.passed, t.incorrect,
                t.kernel_error, t.waived, t.waived ? ("  (waived: " + t.waive_reason + ")").c_str() : "");
    total.passed += t.passed; total.incorrect += t.incorrect; total.kernel_error += t.kernel_error; total.waived += t.waived;
  }
  std::printf("%-22s %-14s %8d %10d %13d %7d\n", "total", "", total.passed, total.incorrect, total.kernel_error, total.waived);

  if (!json_path.empty()) {
    report::write_results_file(json_path, results.finish());
    std::cout << "results written to " << json_path << "\n";
  }
  return any_bad ? 1 : 0;
}

}  // namespace smoothcheck
