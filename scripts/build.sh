#!/usr/bin/env bash
# Configures (once) and builds smoothcheck with the default preset into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${SMOOTHCHECK_PRESET:-default}
if [[ ! -f build/${preset}/CMakeCache.txt ]]; then
  cmake --preset "$preset"
fi
cmake --build --preset "$preset"
