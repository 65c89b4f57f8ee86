// What every fuzz target of a checkpoint parser shares: the rule for what counts as a finding, a
// memory-backed file to hand bytes to readers that take a path, and one source per target that builds
// either a libFuzzer executable or a regression test that replays the committed corpus.
//
// A parser given arbitrary bytes may only return or throw checkpoint::CheckpointError naming the file
// and the problem. Anything else is a finding: a sanitizer report, a crash, a hang, any other
// exception escaping (std::out_of_range from a JSON lookup, std::bad_alloc from a size taken on trust),
// or an accepted input that breaks an invariant the reader promises (fuzz_require).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace smoothcheck::fuzz {

using FuzzFunction = void (*)(const std::uint8_t* data, std::size_t size);

// Runs fn; a CheckpointError with an empty file or problem is a finding (the message must say where
// and what). Other exceptions propagate: under libFuzzer that is a crash with its reproducer.
int run_guarded(const char* target, FuzzFunction fn, const std::uint8_t* data, std::size_t size);

// An accepted input broke an invariant: prints the target's complaint and aborts.
[[noreturn]] void invariant_broken(const std::string& what);
inline void fuzz_require(bool ok, const std::string& what) {
  if (!ok) invariant_broken(what);
}

// A file whose bytes live in memory (memfd): path() stays the same while rewrite() replaces the
// contents, so readers that open by path see each input without touching the disk.
class MemoryFile {
 public:
  MemoryFile();
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  const std::filesystem::path& rewrite(const std::uint8_t* data, std::size_t size);
  const std::filesystem::path& path() const { return path_; }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// A directory for the whole process (removed at exit), for readers that need sibling files.
const std::filesystem::path& process_scratch_dir();
void write_file(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size);

// Replay registry: the regression test (corpus_replay_tests.cpp) links every target and runs each
// committed corpus file through the target named after its folder.
struct RegisteredTarget {
  std::string name;
  FuzzFunction fn;
};
bool register_target(const char* name, FuzzFunction fn);
const std::vector<RegisteredTarget>& registered_targets();

}  // namespace smoothcheck::fuzz

// SMOOTHCHECK_FUZZ_TARGET(name) { ... body using data, size ... }
// With SMOOTHCHECK_FUZZ_MAIN defined (the asan preset builds one executable per target) it is
// libFuzzer's entry point; otherwise it registers itself for the corpus replay test.
#ifdef SMOOTHCHECK_FUZZ_MAIN
#define SMOOTHCHECK_FUZZ_EXPOSE(name)                                                      \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {      \
    return ::smoothcheck::fuzz::run_guarded(#name, name, data, size);                      \
  }
#else
#define SMOOTHCHECK_FUZZ_EXPOSE(name) \
  [[maybe_unused]] static const bool name##_registered = ::smoothcheck::fuzz::register_target(#name, name);
#endif
#define SMOOTHCHECK_FUZZ_TARGET(name)                                  \
  static void name(const std::uint8_t* data, std::size_t size);        \
  SMOOTHCHECK_FUZZ_EXPOSE(name)                                        \
  static void name(const std::uint8_t* data, std::size_t size)
