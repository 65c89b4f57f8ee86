#!/usr/bin/env bash
# Regenerate cases/third_party/stories260K/ from upstream tools' own code, then run
# load_check.py on every fixture. Not run by CI. Needs PyPI access for the venv.
#   bash scripts/third_party_checkpoints/run.sh            # venv in /tmp/upstream-venv
#   VENV=/some/where MODEL=/path/to/stories260K/hf bash scripts/third_party_checkpoints/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-/tmp/upstream-venv}"
python="${PYTHON:-python3.11}"
model="${MODEL:-$root/../shared/checkpoints/stories260K/hf}"
out="$root/cases/third_party/stories260K"
index=(--index-url https://pypi.org/simple)

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install "${index[@]}" -r "$here/requirements.txt"
# lmdeploy without its dependency set (ray, xgrammar, tilelang, CUDA 12 libraries...).
"$venv/bin/pip" install "${index[@]}" --no-deps lmdeploy==0.18.0

export ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1
"$venv/bin/python" "$here/generate.py" --model "$model" --out "$out"
for v in llmcompressor_w8a8 llmcompressor_w8a8_static_tensor; do
  "$venv/bin/python" "$here/load_check.py" "$out/$v" --format compressed-tensors --model "$model"
done
"$venv/bin/python" "$here/load_check.py" "$out/lmdeploy_smooth_quant" --format lmdeploy --model "$model"

# smoothcheck's own exports in both formats must load in the same upstream code (issue 14). Needs a
# built smoothcheck (scripts/build.sh); skipped with a message otherwise.
smoothcheck="${SMOOTHCHECK:-$root/build/default/harness/smoothcheck}"
if [[ ! -x "$smoothcheck" ]]; then
  echo "run.sh: $smoothcheck not built: smoothcheck's own exports were not load-checked" >&2
  exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$smoothcheck" calibrate "$model" --tokens "$out/calibration_tokens.json" --out "$scratch/stats.safetensors"
"$smoothcheck" quantize "$model" --stats "$scratch/stats.safetensors" --engine llmcompressor \
  --format compressed-tensors --out "$scratch/compressed-tensors"
"$smoothcheck" quantize "$model" --stats "$scratch/stats.safetensors" --engine lmdeploy \
  --format lmdeploy --out "$scratch/lmdeploy"
"$venv/bin/python" "$here/load_check.py" "$scratch/compressed-tensors" --format compressed-tensors --model "$model"
"$venv/bin/python" "$here/load_check.py" "$scratch/lmdeploy" --format lmdeploy --model "$model"
