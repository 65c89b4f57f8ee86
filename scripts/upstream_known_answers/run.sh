#!/usr/bin/env bash
# Regenerate cases/upstream_known_answers/ (*.json and stories260K/) from upstream's own code.
# Not run by CI. Needs PyPI access and ~6 GB of disk under /tmp.
#   bash scripts/upstream_known_answers/run.sh            # venv in /tmp/upstream-venv
#   VENV=/some/where bash scripts/upstream_known_answers/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${VENV:-/tmp/upstream-venv}"
python="${PYTHON:-python3.11}"
index=(--index-url https://pypi.org/simple)

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install "${index[@]}" -r "$here/requirements.txt"
# lmdeploy without its dependency set (see requirements.txt).
"$venv/bin/pip" install "${index[@]}" --no-deps lmdeploy==0.18.0
"$venv/bin/python" "$here/generate.py"
"$venv/bin/python" "$here/trtllm_port.py"    # TensorRT-LLM port: trtllm.json
"$venv/bin/python" "$here/whole_model.py"    # the whole stories260K: stories260K/*.safetensors
"$venv/bin/python" "$here/lmdeploy_inputs_stats.py"  # lmdeploy's own inputs_stats.pth: stories260K/lmdeploy_inputs_stats_*.pth
