// An output directory that appears complete or not at all: everything is written into a fresh
// temporary directory beside the target (same filesystem, so rename(2) is atomic), and commit()
// renames it into place. Replacing an existing target (--force) is write-new, rename old away, rename
// new in, delete old: at every instant the target path holds either the old or the new export. An
// uncommitted stage is removed with its contents, so a failed export leaves nothing behind; so is one
// whose process is interrupted by SIGINT, SIGTERM or SIGHUP (interrupt_cleanup.h).
#pragma once

#include <filesystem>
#include <memory>

#include "harness/pipeline/interrupt_cleanup.h"

namespace smoothcheck::pipeline {

class StagedDirectory {
 public:
  // Refuses (std::invalid_argument) when target exists and !replace, or when target's parent does not
  // exist; creates the stage ".<name>.tmp-XXXXXX" beside it.
  StagedDirectory(const std::filesystem::path& target, bool replace);
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  const std::filesystem::path& path() const { return stage_; }  // write here
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  void rename_into_place();  // sets old_ when a previous export was moved aside

  std::filesystem::path target_;
  std::filesystem::path stage_;
  std::filesystem::path old_;
  bool replace_ = false;
  bool committed_ = false;
  std::unique_ptr<InterruptCleanup> interrupt_;  // destroyed after ~StagedDirectory's removal of the stage
};

// Whether `inner` is `outer` or lies inside it (both resolved through symlinks as far as they exist):
// an export into its own input directory is refused, since replacing it would modify the input.
bool path_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

}  // namespace smoothcheck::pipeline
