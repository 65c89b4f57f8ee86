// `smoothcheck perf compare BASE.json NEW.json` and `smoothcheck perf record BENCH.json --out FILE`.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "harness/report/perf_compare.h"
#include "harness/report/regression_rules.h"
#include "harness/report/results_builders.h"
#include "harness/report/results_document.h"
#include "harness/cli/arg_reader.h"
#include "harness/cli/commands.h"
#include "harness/run_info.h"

namespace smoothcheck {

namespace {

const char* kPerfUsage = R"(usage: smoothcheck perf compare BASE.json NEW.json [--fail-on-regression]
       smoothcheck perf record BENCHMARK.json --out RESULTS.json

compare  labels every benchmark present in both runs SAME, FASTER, SLOWER or NOISY. The inputs are
         Google Benchmark JSON (--benchmark_out=F --benchmark_out_format=json) run with
         --benchmark_repetitions=N, or `perf record` documents. The rule (Google Benchmark's
         tools/compare.py tests repetitions the same way):
           fewer than 9 repetitions on either side           NOISY (insufficient repetitions)
           |median(new) / median(base) - 1| < 5 %            SAME
           two-sided Mann-Whitney U p < 0.05, change >= 5 %  SLOWER or FASTER
           p >= 0.05, change >= 5 %                          NOISY
         --fail-on-regression: exit 1 when a benchmark is SLOWER.
record   wraps a Google Benchmark JSON file into a smoothcheck results document (schema
         smoothcheck.results/2) with this build's machine, compiler, build type and git commit, for
         `smoothcheck report`. Run it beside the benchmark, on the same machine.
Exits 2 for bad arguments or an unreadable file (named, with the problem).
)";

std::vector<report::BenchmarkSeries> series_from(const std::string& file) {
  std::vector<report::BenchmarkSeries> s = report::benchmark_series_of({report::read_results_file(file)});
  if (s.empty()) throw std::invalid_argument(file + ": holds no benchmark results");
  return s;
}

int perf_compare(int argc, char** argv) {
  std::vector<std::string> files;
  bool fail_on_regression = false;
  for (cli::ArgReader args(argc, argv); args.next();) {
    if (args.help()) { std::cout << kPerfUsage; return 0; }
    if (args.current() == "--fail-on-regression") fail_on_regression = true;
    else if (args.positional()) files.push_back(args.current());
    else throw std::invalid_argument("unknown argument '" + args.current() + "'\n" + kPerfUsage);
  }
  if (files.size() != 2) throw std::invalid_argument(std::string("perf compare needs BASE.json and NEW.json\n") + kPerfUsage);
  const report::PerfComparisonSet set = report::compare_benchmarks(series_from(files[0]), series_from(files[1]));
  int slower = 0;
  std::printf("%-7s %14s %14s %9s %5s  %s\n", "verdict", "base median", "new median", "change", "reps", "benchmark");
  for (const report::PerfComparison& c : set.compared) {
    slower += c.verdict == report::PerfVerdict::slower;
    std::printf("%-7s %11.4g ns %11.4g ns %+8.1f%% %2zu/%-2zu  %s\n      %s\n", report::to_string(c.verdict),
                c.base_median_ns, c.new_median_ns, 100 * c.effect, c.base_repetitions, c.new_repetitions,
                c.name.c_str(), c.why.c_str());
  }
  for (const std::string& n : set.only_in_base) std::printf("only in %s: %s\n", files[0].c_str(), n.c_str());
  for (const std::string& n : set.only_in_new) std::printf("only in %s: %s\n", files[1].c_str(), n.c_str());
  for (const std::string& e : set.errors) std::printf("benchmark error, not compared: %s\n", e.c_str());
  std::printf("%zu compared, %d SLOWER\n", set.compared.size(), slower);
  return fail_on_regression && slower ? 1 : 0;
}

int perf_record(int argc, char** argv) {
  std::string input, out;
  for (cli::ArgReader args(argc, argv); args.next();) {
    if (args.help()) { std::cout << kPerfUsage; return 0; }
    if (args.current() == "--out") out = args.value();
    else if (args.positional() && input.empty()) input = args.current();
    else throw std::invalid_argument("unexpected argument '" + args.current() + "'\n" + kPerfUsage);
  }
  if (input.empty() || out.empty()) throw std::invalid_argument(std::string("perf record needs BENCHMARK.json and --out\n") + kPerfUsage);
  report::ResultsDocument doc = report::read_results_file(input);
  if (doc.kind != "benchmark") throw std::invalid_argument(input + ": not Google Benchmark JSON");
  nlohmann::json info = run_info();
  info["benchmark_context"] = doc.run;  // what Google Benchmark itself recorded
  doc.run = info;
  report::write_results_file(out, doc);
  std::cout << "benchmark results written to " << out << "\n";
  return 0;
}

}  // namespace

int command_perf(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::cout << kPerfUsage;
    return argc < 1 ? 2 : 0;
  }
  const std::string sub = argv[0];
  if (sub == "compare") return perf_compare(argc - 1, argv + 1);
  if (sub == "record") return perf_record(argc - 1, argv + 1);
  throw std::invalid_argument("unknown perf subcommand '" + sub + "'\n" + kPerfUsage);
}

}  // namespace smoothcheck
