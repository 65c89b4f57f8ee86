#!/usr/bin/env bash
# The device code's fingerprint: every kernels/cuda/*.cu compiled to a cubin for sm_80 and sm_90 with the
# build's flags, and the SHA-256 of each. nvcc's output is deterministic, so an unchanged fingerprint
# proves a change to the sources (the CPU emulation's macros, kernels/cuda_emulation/) left the GPU's
# machine code byte for byte as it was.
#
#   scripts/cuda_device_fingerprint.sh            # compare with reports/cuda_device_fingerprints.txt
#   scripts/cuda_device_fingerprint.sh --update   # rewrite it (after an intended change to a kernel)
#
# The host compiler is part of the fingerprint: nvcc preprocesses device code with it, so its macros and
# its C++ library headers reach the cubin (on 2026-12-04 the same nvcc 13.0 build gave another
# gemm_w8a8 cubin under Ubuntu's g++ 13.3 than under Debian's g++ 12.2; reports/gpu/README.md).
# Compare fingerprints made with the same nvcc and host compiler.
#
# Needs nvcc, no GPU. About a minute on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
committed="$root/reports/cuda_device_fingerprints.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for cu in "$root"/kernels/cuda/*.cu; do
  for arch in 80 90; do
    "$nvcc" -std=c++17 -O3 -DNDEBUG -I"$root" --fmad=false --expt-relaxed-constexpr \
      -gencode "arch=compute_${arch},code=sm_${arch}" -cubin -o "$work/$(basename "$cu" .cu).sm_${arch}.cubin" "$cu" &
  done
  wait
done
{
  echo "# sha256 of each kernels/cuda/*.cu cubin (scripts/cuda_device_fingerprint.sh; $("$nvcc" --version | tail -n1); host compiler: $("${CUDAHOSTCXX:-g++}" --version | head -n1))"
  (cd "$work" && sha256sum ./*.cubin | sed 's| \./| |')
} > "$work/fingerprints.txt"

if [[ ${1:-} == --update ]]; then
  cp "$work/fingerprints.txt" "$committed"
  echo "cuda_device_fingerprint: wrote $committed"
elif diff <(grep -v '^#' "$committed") <(grep -v '^#' "$work/fingerprints.txt"); then
  echo "cuda_device_fingerprint: every cubin is byte-identical to the committed fingerprints"
else
  echo "cuda_device_fingerprint: the device code changed (lines above); --update if that was intended" >&2
  exit 1
fi
