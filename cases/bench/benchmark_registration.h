// Registration pieces both benchmark suites share, so that their rows carry the same names and
// arguments: the LLaMA-2-7B argument sets of llama_shapes.h and a guard that turns a kernel's exception
// into that benchmark's error rather than an abort of the whole run.
#pragma once

#include <benchmark/benchmark.h>

#include <exception>
#include <initializer_list>
#include <string>

#include "cases/bench/llama_shapes.h"

namespace smoothcheck::bench {

// The benchmark function, with any exception (KernelError, a CUDA or LibTorch error) reported through
// SkipWithError.
template <class Fn>
auto guard_exceptions(Fn fn) {
  return [fn](benchmark::State& st) {
    try {
      fn(st);
    } catch (const std::exception& e) {
      st.SkipWithError(e.what());
    }
  };
}

// "a/b/c": a benchmark name from its parts, empty parts left out.
inline std::string join(std::initializer_list<std::string> parts) {
  std::string s;
  for (const auto& p : parts)
    if (!p.empty()) s += (s.empty() ? "" : "/") + p;
  return s;
}

// Activations [tokens, hidden]: every kTokens x kHidden.
inline void activation_args(benchmark::internal::Benchmark* b) {
  for (int64_t c : kHidden)
    for (int64_t t : kTokens) b->Args({t, c});
  b->ArgNames({"tokens", "hidden"});
}
// Weights [out_features, in_features] of the LLaMA-2-7B linears.
inline void weight_args(benchmark::internal::Benchmark* b) {
  for (const LinearShape& l : kLinears) b->Args({l.n, l.k});
  b->ArgNames({"rows", "cols"});
}
// Per-channel vectors: the two hidden widths.
inline void channel_args(benchmark::internal::Benchmark* b) {
  for (int64_t c : kHidden) b->Args({c});
  b->ArgNames({"channels"});
}

}  // namespace smoothcheck::bench
