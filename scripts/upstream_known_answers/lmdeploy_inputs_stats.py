#!/usr/bin/env python3
"""lmdeploy's calibration statistics file, inputs_stats.pth, written by lmdeploy itself, for
smoothcheck's reader to be tested against; and a check that lmdeploy reads a file smoothcheck wrote.

Not run by CI. Same venv as generate.py (scripts/upstream_known_answers/run.sh); about 5 s on a CPU.

  python lmdeploy_inputs_stats.py                 # writes the fixtures below
  python lmdeploy_inputs_stats.py --check FILE    # FILE: `smoothcheck calibrate MODEL --stats-format
                                                  # lmdeploy --out FILE` of stories260K (hf)

What it runs (lmdeploy 0.18.0, called, not ported)
  stories260K (../shared/checkpoints/stories260K/hf) in a transformers LlamaForCausalLM, every stored
  tensor `.to(dtype)`, inside lmdeploy/lite/quantization/calibration.py's CalibrationContext
  (line 19; LlamaDecoderLayer / LlamaRMSNorm as lmdeploy/lite/apis/calibrate.py's LAYER_TYPE_MAP and
  NORM_TYPE_MAP name them, batch_size 1, device "cpu"), its `calibrate` (line 226) on 4 sequences of 32
  token ids (torch.Generator seed 0, ids in [3, 512)), then its own `export` (line 209), which
  torch.saves inputs_stats.pth and outputs_stats.pth into a directory. Only inputs_stats.pth is kept.
  `search_scale` variant: CalibrationContextV2 (line 345) with search_scale=True, w_bits 8, group -1 (smooth_quant.py lines 25 and 56),
  whose export (line 380) adds `ratios` {module: float} beside the five statistics.
  lmdeploy's decoder-layer wrapper queries torch.cuda.max_memory_allocated for a progress line; on a
  machine without CUDA that is replaced by a function returning 0 (nothing else is patched).

Outputs (cases/upstream_known_answers/stories260K/)
  lmdeploy_inputs_stats_f16.pth       model in float16: every statistic float16 (the observer's
                                      buffers start float16, observer.py lines 68-72, and stay so)
  lmdeploy_inputs_stats_search_f32.pth  the search_scale variant, model in float32: every statistic
                                      float32 (torch.maximum and the running-mean arithmetic promote
                                      the float16 buffers; a bfloat16 model's promote to float32 too),
                                      and `ratios` {module: float, or None where no search ran}
  lmdeploy_inputs_stats.json          versions; per file its keys, the kinds of their values, the
                                      module names in the file's order, and per statistic and module
                                      the float64 sum of its values taken in channel order (the C++
                                      test sums what it read the same way)

--check FILE
  torch.load(FILE, weights_only=True) as lmdeploy/lite/apis/smooth_quant.py line 64 does; its keys,
  module names (those CalibrationContext observes on the model), shapes and dtypes; then lmdeploy's
  own smoothing of every decoder layer with inp_stats['absmax'] (awq.py smooth_layers, line 349, on
  device "cpu"), which indexes the statistics exactly as smooth_quant does. Prints what it found.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402

torch.set_num_threads(1)

from safetensors.torch import load_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MODEL_DIR = os.path.join(REPO_ROOT, "..", "shared", "checkpoints", "stories260K", "hf")
OUT_DIR = os.path.join(REPO_ROOT, "cases", "upstream_known_answers", "stories260K")
STATISTICS = ["max", "min", "mean", "absmax", "absmean"]  # calibration.py line 183, in its order


def versions():
    out = {"python": platform.python_version()}
    for n in ["torch", "transformers", "lmdeploy", "safetensors"]:
        out[n] = metadata.version(n)
    out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


def no_cuda_memory_query():
    # calibration.py lines 169 and 439 print torch.cuda.max_memory_allocated(device=...) after each
    # layer; with device "cpu" that call fails. It only feeds a progress line.
    if not torch.cuda.is_available():
        torch.cuda.max_memory_allocated = lambda *a, **k: 0


def load_model(dtype):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(MODEL_DIR)
    state = {k: v.to(dtype) for k, v in load_file(os.path.join(MODEL_DIR, "model.safetensors")).items()}
    torch.manual_seed(0)  # the init is overwritten; seeded anyway
    model = LlamaForCausalLM(config).to(dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"lm_head.weight"}, missing  # tie_word_embeddings
    model.requires_grad_(False)
    model.eval()
    return model


def calibration_tokens():
    g = torch.Generator().manual_seed(0)
    return torch.randint(3, 512, (4, 32), generator=g)


def run_calibration(dtype, search_scale):
    from lmdeploy.lite.quantization import CalibrationContext, CalibrationContextV2
    from lmdeploy.lite.quantization.activation import ActivationObserver

    # Observers live in a class-level registry (lmdeploy/lite/utils/global_avail.py): emptied so that
    # each file holds only its own context's observers.
    ActivationObserver._instances.clear()
    ActivationObserver._instances["default"] = {}
    model = load_model(dtype)
    common = dict(layer_type="LlamaDecoderLayer", norm_type="LlamaRMSNorm", batch_size=1, device="cpu")
    if search_scale:
        ctx = CalibrationContextV2(model, None, search_scale=True, w_bits=8, w_group_size=-1, **common)
    else:
        ctx = CalibrationContext(model, None, **common)
    with ctx:
        ctx.calibrate(calibration_tokens())
    with tempfile.TemporaryDirectory() as d:
        ctx.export(Path(d))  # export joins with `/`: a Path, as calibrate.py passes
        with open(os.path.join(d, "inputs_stats.pth"), "rb") as f:
            raw = f.read()
        return torch.load(os.path.join(d, "inputs_stats.pth"), weights_only=True), raw


def describe(stats):
    out = {"keys": list(stats.keys())}
    for k, table in stats.items():
        kinds = sorted({str(v.dtype) if isinstance(v, torch.Tensor) else type(v).__name__ for v in table.values()})
        out[k] = {"value_kinds": kinds, "modules": len(table)}
    out["module_names"] = list(stats["absmax"].keys())
    sums = {}
    for k in STATISTICS:
        sums[k] = {}
        for name, t in stats[k].items():
            total = 0.0
            for x in t.double().tolist():
                total += x
            sums[k][name] = total
    out["channel_sums"] = sums
    return out


def generate():
    no_cuda_memory_query()
    record = {"generator": "scripts/upstream_known_answers/lmdeploy_inputs_stats.py", "packages": versions(),
              "tokens": "torch.randint(3, 512, (4, 32), torch.Generator().manual_seed(0))", "files": {}}
    for name, dtype, search in (("lmdeploy_inputs_stats_f16.pth", torch.float16, False),
                                ("lmdeploy_inputs_stats_search_f32.pth", torch.float32, True)):
        stats, raw = run_calibration(dtype, search)
        with open(os.path.join(OUT_DIR, name), "wb") as f:
            f.write(raw)
        d = describe(stats)
        d["model_dtype"] = str(dtype)
        record["files"][name] = d
        print(name, {k: v for k, v in d.items() if k not in ("module_names", "channel_sums")})
    with open(os.path.join(OUT_DIR, "lmdeploy_inputs_stats.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


def check(file):
    from torch import nn

    from lmdeploy.lite.quantization.awq import FC_FCS_MAP, NORM_FCS_MAP, smooth_layers
    from lmdeploy.lite.utils import collect_target_modules

    no_cuda_memory_query()
    inp_stats = torch.load(file, weights_only=True)  # smooth_quant.py line 64
    assert isinstance(inp_stats, dict), type(inp_stats)
    assert sorted(inp_stats) == sorted(STATISTICS), list(inp_stats)
    model = load_model(torch.float32)
    layers = collect_target_modules(model, "LlamaDecoderLayer")  # smooth_quant.py lines 78-82
    fcs = {}
    for l_name, layer in layers.items():
        fcs.update(collect_target_modules(layer, nn.Linear, prefix=l_name))
    dtypes = set()
    for stat in STATISTICS:
        table = inp_stats[stat]
        assert isinstance(table, dict), (stat, type(table))
        assert list(table) == list(fcs), (stat, sorted(set(table) ^ set(fcs)))
        for name, t in table.items():
            assert isinstance(t, torch.Tensor) and t.shape == (fcs[name].in_features,), (stat, name, t)
            assert bool(torch.isfinite(t).all()), (stat, name)
            dtypes.add(str(t.dtype))
    act_scales = inp_stats["absmax"]  # smooth_quant.py line 65
    smooth_layers(layers, FC_FCS_MAP["LlamaDecoderLayer"], NORM_FCS_MAP["LlamaDecoderLayer"], act_scales, -1, "cpu")
    for name, p in model.named_parameters():
        assert bool(torch.isfinite(p).all()), name
    print(f"{file}: torch.load(weights_only=True) read keys {list(inp_stats)}, {len(fcs)} modules each "
          f"(those CalibrationContext observes), dtypes {sorted(dtypes)}; lmdeploy's smooth_layers smoothed "
          f"{len(layers)} decoder layers with inp_stats['absmax'], every parameter finite")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--check", metavar="FILE")
    a = p.parse_args()
    if a.check:
        check(a.check)
    else:
        generate()


if __name__ == "__main__":
    sys.exit(main())
