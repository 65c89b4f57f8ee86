#!/usr/bin/env bash
# Fills .deps/ with the sources that scripts/gpu_run.sh builds on a lent GPU machine. That machine has
# nvcc and a CUDA-enabled PyTorch but no network and none of Debian's -dev packages, so GoogleTest,
# rapidcheck, Google Benchmark and nlohmann_json travel as upstream source trees.
#
# Run it HERE (the development machine, which reaches a Debian mirror). It uses Debian source
# packages through apt-get's ordinary client: the system's sources list carries only "deb" lines, so
# a private apt configuration under .deps/apt adds "deb-src" lines without touching /etc/apt. Only
# the upstream tarball (*.orig.tar.*) is needed: the Debian patches concern packaging, and the mirror
# here does not always serve the .dsc / .debian.tar.* files (rapidcheck in bookworm), so whatever
# apt-get could fetch is accepted as long as the orig tarball is among it. Suites are tried in
# order: bookworm (the versions this machine builds against), then trixie.
#
# .deps/.gitignore ("*") keeps the folder out of git; the device tool must therefore be told to carry
# it (carry: [".deps"]); it is a few MiB.
#
# Usage: scripts/fetch_gpu_deps.sh      (idempotent: a package already unpacked is skipped)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.deps"
apt_dir="${XDG_CACHE_HOME:-$HOME/.cache}/smoothcheck-apt"  # Sources indexes: not carried
mkdir -p "$deps/src" "$apt_dir/no-parts"
printf '*\n' > "$deps/.gitignore"

# Debian source package -> directory under .deps/src that gpu_run.sh expects.
packages=(googletest:googletest rapidcheck:rapidcheck benchmark:benchmark nlohmann-json3:nlohmann_json)
suites=(bookworm trixie)

apt_for_suite() {  # $1 = suite; sets apt_opts and runs apt-get update for that suite's Sources
  local suite="$1" d="$apt_dir/$1"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  echo "deb-src http://deb.debian.org/debian $suite main" > "$d/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/no-parts"
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o "APT::Sandbox::User=root"
  )
  if [[ ! -e "$d/.updated" ]]; then
    apt-get "${apt_opts[@]}" -q update && touch "$d/.updated"
  fi
}

status=0
for entry in "${packages[@]}"; do
  pkg="${entry%%:*}" name="${entry##*:}"
  if [[ -f "$deps/src/$name/CMakeLists.txt" ]]; then
    echo "fetch_gpu_deps: $name already present"
    continue
  fi
  done_pkg=0
  for suite in "${suites[@]}"; do
    apt_for_suite "$suite" || continue
    work="$deps/download/$pkg-$suite"
    rm -rf "$work" && mkdir -p "$work"
    (cd "$work" && apt-get "${apt_opts[@]}" -q source --download-only "$pkg") || true
    orig="$(ls "$work"/*.orig.tar.* 2>/dev/null | head -n1)"
    if [[ -n "$orig" ]]; then
      rm -rf "$deps/src/$name" "$work/x" && mkdir -p "$work/x"
      tar -xf "$orig" -C "$work/x"
      # most tarballs hold one top folder; rapidcheck's holds the tree itself
      top=("$work"/x/*)
      if [[ ${#top[@]} -eq 1 && -d "${top[0]}" ]]; then mv "${top[0]}" "$deps/src/$name"; else mv "$work/x" "$deps/src/$name"; fi
      echo "fetch_gpu_deps: $name <- $(basename "$orig") ($suite)"
      done_pkg=1
      break
    fi
  done
  rm -rf "$deps/download"
  if [[ $done_pkg -eq 0 ]]; then
    echo "fetch_gpu_deps: could not fetch $pkg" >&2
    status=1
  fi
done

# Large parts no build here needs (nlohmann_json's test data and docs; benchmark's docs).
rm -rf "$deps/src/nlohmann_json/tests" "$deps/src/nlohmann_json/docs" "$deps/src/benchmark/docs" 2>/dev/null
rm -rf "$apt_dir"/*/cache "$deps/apt"
du -sh "$deps"/src/* "$deps" 2>/dev/null
exit $status
