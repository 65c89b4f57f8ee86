#include "harness/pipeline/staged_directory.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace smoothcheck::pipeline {

namespace fs = std::filesystem;

namespace {

// A name only (for the old directory moved away): mkdtemp reserves it, rename then needs it absent.
fs::path unique_sibling_name(const fs::path& target, const std::string& tag) {
  std::string pattern = (target.parent_path() / ("." + target.filename().string() + "." + tag + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot reserve a temporary name " + pattern + ": " + std::strerror(errno));
  fs::remove(pattern);
  return pattern;
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw std::runtime_error("cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(errno));
}

}  // namespace

bool path_within(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer), ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

StagedDirectory::StagedDirectory(const fs::path& target, bool replace) : target_(fs::absolute(target)), replace_(replace) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  std::error_code ec;
  if (!fs::is_directory(target_.parent_path(), ec))
    throw std::invalid_argument(target_.parent_path().string() + " does not exist (the output's parent directory)");
  if (fs::exists(fs::symlink_status(target_, ec)) && !replace)
    throw std::invalid_argument(target_.string() + " already exists (pass --force to replace it)");
  if (fs::exists(target_, ec) && !fs::is_directory(target_, ec))
    throw std::invalid_argument(target_.string() + " exists and is not a directory; refusing to replace it");
  interrupt_ = std::make_unique<InterruptCleanup>(
      (target_.parent_path() / ("." + target_.filename().string() + ".tmp-XXXXXX")).string());
  stage_ = interrupt_->make_directory();
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(stage_, ec);
}

void StagedDirectory::commit() {
  interrupt_->begin_commit();
  try {
    rename_into_place();
  } catch (...) {
    interrupt_->end_commit(false);
    throw;
  }
  committed_ = true;
  interrupt_->end_commit(true);
  if (!old_.empty()) {
    std::error_code ec;
    fs::remove_all(old_, ec);
  }
}

void StagedDirectory::rename_into_place() {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(target_, ec))) {
    if (!replace_) throw std::invalid_argument(target_.string() + " appeared while exporting; not replacing it");
    const fs::path old = unique_sibling_name(target_, "old");
    rename_or_throw(target_, old);
    try {
      rename_or_throw(stage_, target_);
    } catch (...) {
      std::rename(old.c_str(), target_.c_str());  // put the previous export back
      throw;
    }
    old_ = old;
    return;
  }
  rename_or_throw(stage_, target_);
}

}  // namespace smoothcheck::pipeline
