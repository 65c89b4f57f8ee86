// Removal of a staged output directory when the process is interrupted (SIGINT, SIGTERM, SIGHUP), so
// that Ctrl-C during `smoothcheck quantize` leaves neither the output nor a ".<name>.tmp-XXXXXX"
// stage behind. The default action of those signals ends the process without running destructors,
// which is where StagedDirectory would otherwise clean up.
//
// The handler uses only async-signal-safe calls (open, getdents64, unlinkat, close, sigaction,
// raise) on a path copied when the stage was armed, then re-raises the signal under the previous
// disposition, so the exit status still says "killed by SIGINT". A commit (the rename into place)
// and the handler exclude each other: a signal during the rename is held until the rename is done
// (the output is then complete), and a commit that starts while the handler is deleting waits for
// the process to end rather than rename a half-deleted stage. SIGKILL cannot be handled; a stage it
// leaves behind is inert (hidden, never renamed) and does not block a rerun.
#pragma once

#include <filesystem>
#include <string>

namespace smoothcheck::pipeline {

class InterruptCleanup {
 public:
  // Arms cleanup of the directory that make_directory() will create from `pattern` (a path ending in
  // mkdtemp's XXXXXX), installing the handlers while any stage is armed. Arming comes first so that
  // there is no instant at which the directory exists and an interrupt would leave it behind. At
  // most a few stages can be armed at once; beyond that one is simply not covered.
  explicit InterruptCleanup(const std::string& pattern);
  ~InterruptCleanup();  // disarms (the directory is then the owner's to remove or keep)
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

  // mkdtemp(pattern); throws std::runtime_error naming the path and the reason.
  std::filesystem::path make_directory();

  // Brackets the rename of the stage into place. begin_commit() does not return if an interrupt is
  // already removing the stage; end_commit(renamed) re-raises a signal that arrived in between (after
  // removing the stage when the rename did not happen).
  void begin_commit();
  void end_commit(bool renamed);

 private:
  int slot_ = -1;
  std::string unarmed_pattern_;  // used when no slot was free
};

}  // namespace smoothcheck::pipeline
