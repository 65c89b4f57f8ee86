#!/usr/bin/env python3
"""Whole-model known answers: upstream's own smoothing + int8 weight quantisation
of stories260K, for smoothcheck's `quantize --engine E` export to be compared with.

What it runs
  On the stories260K LLaMA checkpoint (hidden 64, intermediate 172, 5 layers,
  8 heads, 4 kv heads) loaded into a transformers LlamaForCausalLM, in two model
  dtypes -- float32 as stored, and bfloat16 (every stored tensor `.to(torch.bfloat16)`,
  round to nearest even, what at::Tensor::to(kBFloat16) gives) -- with the fixed
  calibration statistics cases/upstream_known_answers/stories260K/calibration_stats.safetensors
  (float32, per linear input: absmax, min, max, mean, absmean), alpha 0.5:

  lmdeploy (0.18.0, called, not ported)
    Per decoder layer, in the order of lmdeploy/lite/quantization/awq.py
    smooth_layers (line 349): every NORM_FCS_MAP['LlamaDecoderLayer'] entry
    (awq.py lines 7-10: input_layernorm -> k,q,v; post_attention_layernorm ->
    gate,up) through awq.smooth_ln_fcs (line 161), then every
    FC_FCS_MAP['LlamaDecoderLayer'] entry (awq.py lines 71-74: v_proj -> o_proj;
    up_proj -> down_proj) through awq.smooth_fc_fcs (line 214). act_scales =
    the `absmax` statistic of the group's first fc (awq.py lines 356 and 363
    pick `fc_names[0]`; lmdeploy/lite/apis/smooth_quant.py line 65 reads
    inp_stats['absmax']). smooth_layers itself is not called: it moves each
    layer to a CUDA device and queries torch.cuda.max_memory_allocated (awq.py
    lines 353, 370-372); its loop body (lines 354-368) is reproduced call for
    call. v_proj -> o_proj is skipped by upstream under GQA (awq.py lines
    233-234 return None: v_proj has 32 rows < 64 = o_proj's input). Then every
    linear through lmdeploy/pytorch/models/q_modules.py QLinear.from_float
    (line 105) -> lmdeploy/pytorch/kernels/default/w8a8_kernels.py
    per_channel_quant (line 5): int8 codes, float32 scale [out, 1].

  llm-compressor (0.14.0.1, called) + compressed-tensors (0.19.0, called)
    A SmoothQuantModifier(smoothing_strength=0.5) whose mappings are inferred
    and resolved on the model by its own _infer_mappings_from_model (base.py
    line 175; MAPPINGS_REGISTRY['LlamaForCausalLM'] = DEFAULT_SMOOTHQUANT_MAPPINGS,
    smoothquant/utils.py lines 17-26 and 160) and _resolve_mappings (base.py
    line 186); scales_ holds SmoothQuantScale(min, max) = the group's first fc's
    `min` / `max` statistics cast to the model dtype (its observer holds what it
    sees, the model's activations); then its own _apply_smoothing
    (base.py line 322). The s it applies (not returned by upstream) is recorded
    as torch.maximum(_calculate_smoothing_scales(...), torch.Tensor([1e-5])),
    the expressions of base.py lines 345-355, computed before _apply_smoothing
    and checked against what _apply_smoothing wrote. Then every linear through
    compressed-tensors' calculate_qparams (compressed_tensors/quantization/utils/helpers.py
    line 51) on per-row torch.amin/torch.amax (as llm-compressor's min-max
    observer, llmcompressor/observers/min_max.py lines 70-72) and quantize
    (compressed_tensors/quantization/lifecycle/forward.py line 37), args
    QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel"):
    int8 codes, weight_scale in the weight's dtype.

  SmoothQuant authors (mit-han-lab/smoothquant, GitHub commit
  c61476d728e42ae0d8a35e7e78494edcac3237b5; not on PyPI: PORTS)
    smooth_lm's LLaMA branch (smoothquant/smooth.py lines 126-141):
    smooth_ln_fcs_llama_like (lines 48-71; generate.py's port
    smoothquant_port_ln_fcs, reused) on input_layernorm -> q,k,v with
    scales['...self_attn.q_proj'] and post_attention_layernorm -> gate,up with
    scales['...mlp.gate_proj'] (absmax statistics, float32 as
    smoothquant/calibration.py line 21 keeps them). Then every linear through a
    port of smoothquant/fake_quant.py quantize_weight_per_channel_absmax
    (lines 6-13), stopped before its final `.mul_(scales)` (upstream fake-quantises;
    the codes are round(w / scale)): int8 codes, scale in the weight's dtype.

Outputs (cases/upstream_known_answers/stories260K/)
  {lmdeploy,llmcompressor,smoothquant_authors}_{f32,bf16}.safetensors, each with,
  for every layer L and linear X of q/k/v/o/gate/up/down:
    model.layers.L.<self_attn|mlp>.X.weight  int8 [out, in] (int32 in a file where
                                             upstream's codes reach +128, which
                                             int8 cannot hold: smoothquant_authors_bf16;
                                             metadata codes_dtype / codes_plus_128)
    model.layers.L.<self_attn|mlp>.X.scale   [out, 1] (float32 for lmdeploy,
                                             the weight dtype for the others)
  the smoothed norms model.layers.L.{input,post_attention}_layernorm.weight in
  the model dtype, and each smoothed group's s as
  "<first fc of the group, in upstream's order>.smoothing_scale" [in_features]
  in the dtype upstream produced it (lmdeploy's first fc of the input_layernorm
  group is k_proj, NORM_FCS_MAP's order; the others' is q_proj; lmdeploy's
  up_proj -> down_proj group is stored as mlp.down_proj.smoothing_scale).
  __metadata__ (strings): generator, engine, dtype, alpha, packages (JSON),
  torch, statistic, upstream (what was called, with lines), groups (JSON: per
  group source, kind, fcs in upstream's order, statistic key, scale key,
  smoothed or skipped and why), code counts.

How to run (from the repository root)
  /tmp/upstream-venv/bin/python scripts/upstream_known_answers/whole_model.py [MODEL_DIR]
  with the venv that scripts/upstream_known_answers/run.sh builds (lmdeploy
  0.18.0 --no-deps, llmcompressor 0.14.0.1, compressed-tensors 0.19.0,
  transformers, safetensors, torch 2.12.1 CPU). MODEL_DIR defaults to
  ../shared/checkpoints/stories260K/hf beside the repository. CPU only; it runs
  with ATEN_CPU_CAPABILITY=default and one thread (as generate.py) and is
  deterministic: two runs give identical files (safetensors' save_file writes
  __metadata__ in an order that changes between runs, so the header is then
  rewritten with those keys sorted, same length and offsets:
  _sort_metadata_in_header). About 10 s.

Checks it makes before writing: every stored tensor reached the model bit for
bit; the statistics' q/k/v (gate/up) copies are equal; what _apply_smoothing
wrote equals the recorded s applied once; QLinear.from_float's result equals
lmdeploy's CPU per_channel_quant; codes are integers within [-128, 128];
codes * scale / s (times s' for lmdeploy's row-divided up_proj) reproduces the
original weight within half a step (plus the rounding of the quotient in the
weight dtype, and of W * s in the model dtype); norm * s reproduces the
original norm within two roundings; each file reloads bit for bit. It prints
one line per file: tensors, bytes, max |code|, counts of |code| = 127, -128, +128.

CI does not run this script. Its outputs are committed; C++ tests compare
against them.
"""

import contextlib
import io
import json
import os
import platform
import sys
from importlib import metadata

# torch's CPU kernels without SIMD dispatch (reproducible pow/sqrt), as generate.py.
os.environ["ATEN_CPU_CAPABILITY"] = "default"

import torch  # noqa: E402

torch.set_num_threads(1)

import safetensors  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "cases", "upstream_known_answers", "stories260K")
STATS_PATH = os.path.join(OUT_DIR, "calibration_stats.safetensors")
DEFAULT_MODEL_DIR = os.path.join(REPO_ROOT, "..", "shared", "checkpoints", "stories260K", "hf")
GENERATOR = "scripts/upstream_known_answers/whole_model.py"
ALPHA = 0.5
SQ_COMMIT = "c61476d728e42ae0d8a35e7e78494edcac3237b5"

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
NORMS = ["input_layernorm", "post_attention_layernorm"]

sys.path.insert(0, HERE)
# generate.py's port of smooth_ln_fcs_llama_like (importing it runs only its
# module-level setup: env variables TRITON_INTERPRET / ATEN_CPU_CAPABILITY and imports).
from generate import same_bits, smoothquant_port_ln_fcs  # noqa: E402


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _quiet(fn, *args, **kwargs):
    """Run fn, capturing what it prints; returns (result, printed text)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        r = fn(*args, **kwargs)
    return r, buf.getvalue()


def versions():
    out = {"python": platform.python_version()}
    for n in ["torch", "transformers", "safetensors", "lmdeploy", "llmcompressor", "compressed-tensors",
              "numpy"]:
        out[n] = metadata.version(n)
    out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    out["libc"] = " ".join(platform.libc_ver())
    out["smoothquant_authors"] = f"github:mit-han-lab/smoothquant@{SQ_COMMIT} (port)"
    return out


def load_stats():
    stats = load_file(STATS_PATH)
    for k, v in stats.items():
        assert v.dtype == torch.float32 and v.dim() == 1, k
    # q/k/v (gate/up) read one input: the file holds equal copies, so which fc of a
    # group upstream takes its statistic from does not change the numbers.
    for k, v in stats.items():
        for a, b in (("self_attn.k_proj", "self_attn.q_proj"), ("self_attn.v_proj", "self_attn.q_proj"),
                     ("mlp.up_proj", "mlp.gate_proj")):
            if a in k:
                assert same_bits(v, stats[k.replace(a, b)]), k
    return stats


def load_model(model_dir, dtype):
    """LlamaForCausalLM with the stored tensors `.to(dtype)` (RNE) copied in."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(model_dir)
    state = {k: v.to(dtype) for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()}
    torch.manual_seed(0)                       # the init is overwritten; seeded anyway
    model = LlamaForCausalLM(config).to(dtype)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"lm_head.weight"}, missing   # tie_word_embeddings
    model.requires_grad_(False)
    model.eval()
    for k, v in state.items():                 # every tensor arrived bit for bit
        assert same_bits(model.get_parameter(k).data, v), k
    assert config.num_key_value_heads < config.num_attention_heads   # GQA
    return model, config, state


def linear_key(layer, x):
    return f"model.layers.{layer}.{x}"


# ----------------------------------------------------------------------------
# lmdeploy
# ----------------------------------------------------------------------------

def run_lmdeploy(model, config, stats, dtype):
    from lmdeploy.lite.apis.calibrate import LAYER_TYPE_MAP
    from lmdeploy.lite.quantization import awq
    from lmdeploy.lite.utils import collect_target_modules
    from lmdeploy.pytorch.kernels.default.w8a8_kernels import per_channel_quant as default_per_channel_quant
    from lmdeploy.pytorch.models.q_modules import QLinear

    layer_type = LAYER_TYPE_MAP[type(model).__name__]        # 'LlamaDecoderLayer' (calibrate.py line 22)
    norm2fcs = awq.NORM_FCS_MAP[layer_type]
    fc2fcs = awq.FC_FCS_MAP[layer_type]
    layers = collect_target_modules(model, layer_type)       # lite/utils/collect.py line 6
    a_scales = {k[: -len(".absmax")]: v for k, v in stats.items() if k.endswith(".absmax")}

    out, groups, col, row = {}, [], {}, {}
    # smooth_layers body (awq.py lines 352-368), minus its device moves and CUDA memory query.
    for l_name, layer in layers.items():
        submodule_names = [name for name, _ in layer.named_modules()]
        for ln_name, fc_names in norm2fcs.items():
            a_name = [f"{l_name}.{n}" for n in fc_names if n in submodule_names][0]
            ln = layer.get_submodule(ln_name)
            fcs = [layer.get_submodule(n) for n in fc_names if n in submodule_names]
            s, printed = _quiet(awq.smooth_ln_fcs, ln, fcs, a_scales[a_name].clone(), -1, ALPHA)
            assert s is not None and s.dtype == dtype
            out[f"{a_name}.smoothing_scale"] = s.clone()
            for n in fc_names:
                col[f"{l_name}.{n}"] = s.clone()
            groups.append({"source": f"{l_name}.{ln_name}", "kind": "norm",
                           "fcs": [f"{l_name}.{n}" for n in fc_names], "statistic": f"{a_name}.absmax",
                           "scale_key": f"{a_name}.smoothing_scale", "smoothed": True,
                           "upstream_printed": printed.strip()})
        for f_name, fc_names in fc2fcs.items():
            a_name = [f"{l_name}.{n}" for n in fc_names if n in submodule_names][0]
            fc = layer.get_submodule(f_name)
            fcs = [layer.get_submodule(n) for n in fc_names if n in submodule_names]
            s, printed = _quiet(awq.smooth_fc_fcs, fc, fcs, a_scales[a_name].clone(), -1, ALPHA)
            g = {"source": f"{l_name}.{f_name}", "kind": "linear", "fcs": [f"{l_name}.{n}" for n in fc_names],
                 "statistic": f"{a_name}.absmax", "upstream_printed": printed.strip()}
            if s is None:
                # awq.py lines 232-234: pre_fc rows (v_proj: kv_heads * head_dim) < act size (o_proj input)
                assert fc.weight.size(0) < a_scales[a_name].size(0)
                g.update({"smoothed": False, "scale_key": None,
                          "skipped_because": "awq.py smooth_fc_fcs lines 232-234 return None: "
                                             f"pre_fc out_features {fc.weight.size(0)} < act size "
                                             f"{a_scales[a_name].size(0)} (GQA v_proj -> o_proj)"})
            else:
                assert s.dtype == dtype
                out[f"{a_name}.smoothing_scale"] = s.clone()
                for n in fc_names:
                    col[f"{l_name}.{n}"] = s.clone()
                row[f"{l_name}.{f_name}"] = s.clone()
                g.update({"smoothed": True, "scale_key": f"{a_name}.smoothing_scale"})
            groups.append(g)

    for name, mod in model.named_modules():
        if name.startswith("model.layers.") and isinstance(mod, torch.nn.Linear):
            q = QLinear.from_float(mod, quant_dtype=torch.int8)     # q_modules.py line 105
            assert q.weight.dtype == torch.int8 and q.scale.dtype == torch.float32
            # the dispatcher (kernels/w8a8_triton_kernels.py line 4) took the CPU default kernel
            qd, sd = default_per_channel_quant(mod.weight.detach(), torch.int8)
            assert same_bits(q.weight, qd) and same_bits(q.scale, sd), name
            assert q.bias is None
            out[f"{name}.weight"] = q.weight.contiguous()
            out[f"{name}.scale"] = q.scale.contiguous()
    return out, groups, col, row


# ----------------------------------------------------------------------------
# llm-compressor + compressed-tensors
# ----------------------------------------------------------------------------

def run_llmcompressor(model, config, stats, dtype):
    from compressed_tensors.quantization import QuantizationArgs
    from compressed_tensors.quantization.lifecycle.forward import quantize
    from compressed_tensors.quantization.utils.helpers import calculate_qparams
    from llmcompressor.modifiers.transform.smoothquant import base as sqbase
    from llmcompressor.modifiers.transform.smoothquant.base import SmoothQuantModifier, SmoothQuantScale
    from loguru import logger

    logger.disable("llmcompressor")
    names = {m: n for n, m in model.named_modules()}
    mod = SmoothQuantModifier(smoothing_strength=ALPHA)
    # what on_initialize does (base.py lines 142-145)
    mod.ignore = []
    mod.mappings = mod._infer_mappings_from_model(model)
    mod.resolved_mappings_ = mod._resolve_mappings(model)
    mod.scales_ = {}
    assert len(mod.resolved_mappings_) == 2 * config.num_hidden_layers

    out, groups, col, expected = {}, [], {}, []
    for m in mod.resolved_mappings_:
        fc_names = [names[b] for b in m.balance_layers]
        first = fc_names[0]
        assert m.smooth_name.rsplit(".", 1)[0] == first.rsplit(".", 2)[0]    # same layer
        for n in fc_names:                                                     # equal copies
            assert same_bits(stats[f"{n}.min"], stats[f"{first}.min"])
            assert same_bits(stats[f"{n}.max"], stats[f"{first}.max"])
        # The observer holds min and max in the dtype of the activations it sees (the model's: its hook
        # records the norm's output), so a bf16 model's statistics are bf16; the committed float32
        # statistics are cast to it as that observer would have held them (a no-op for float32).
        dtype = m.balance_layers[0].weight.dtype
        mn, mx = stats[f"{first}.min"].to(dtype), stats[f"{first}.max"].to(dtype)
        mod.scales_[m.smooth_name] = SmoothQuantScale(min_channel_vals=mn, max_channel_vals=mx)
        # The s _apply_smoothing computes (base.py lines 345-355), from the weights before smoothing.
        activation_scales = mx - mn
        raw = mod._calculate_smoothing_scales(m.balance_layers, activation_scales)
        s = torch.maximum(raw, torch.Tensor([sqbase.MINIMUM_SMOOTHING_SCALE]).to(raw.device))
        expected.append((m, s, m.smooth_layer.weight.data.clone(), [b.weight.data.clone() for b in m.balance_layers]))
        out[f"{first}.smoothing_scale"] = s.clone()
        for n in fc_names:
            col[n] = s.clone()
        groups.append({"source": m.smooth_name, "kind": "norm", "fcs": fc_names,
                       "statistic": f"{first}.max - {first}.min (float32)",
                       "scale_key": f"{first}.smoothing_scale", "smoothed": True})

    mod._apply_smoothing(model)                                  # base.py line 322
    assert not mod.scales_
    for m, s, norm0, ws0 in expected:                            # what upstream wrote = recorded s applied once
        assert same_bits(m.smooth_layer.weight.data, (norm0 / s).to(dtype)), m.smooth_name
        for b, w0 in zip(m.balance_layers, ws0):
            assert same_bits(b.weight.data, (w0 * s.view(1, -1)).to(dtype)), names[b]

    args = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel")
    for name, lin in model.named_modules():
        if name.startswith("model.layers.") and isinstance(lin, torch.nn.Linear):
            w = lin.weight.data
            min_vals = torch.amin(w, dim=1, keepdim=True)
            max_vals = torch.amax(w, dim=1, keepdim=True)
            scale, zp = calculate_qparams(min_vals, max_vals, args)
            q = quantize(w, scale, zp, args, dtype=torch.int8)
            assert q.dtype == torch.int8 and scale.dtype == dtype and int(zp.abs().max()) == 0
            out[f"{name}.weight"] = q.contiguous()
            out[f"{name}.scale"] = scale.contiguous()
    return out, groups, col, {}


# ----------------------------------------------------------------------------
# SmoothQuant authors (PORTS)
# ----------------------------------------------------------------------------

def smoothquant_port_quantize_weight_per_channel_absmax(w, n_bits=8):
    """PORT of mit-han-lab/smoothquant smoothquant/fake_quant.py
    quantize_weight_per_channel_absmax (lines 6-13, commit c61476d7), written anew:

        scales = w.abs().max(dim=-1, keepdim=True)[0]     # line 9
        q_max = 2 ** (n_bits - 1) - 1                      # line 10
        scales.clamp_(min=1e-5).div_(q_max)                # line 11
        w.div_(scales).round_().mul_(scales)               # line 12

    all in place in the weight's dtype. The port works on a copy and stops
    before the final .mul_(scales): codes = round(w / scales) (torch.round,
    half to even, of the quotient rounded to the weight dtype), scales [out, 1]
    in the weight dtype.
    """
    w = w.clone()
    scales = w.abs().max(dim=-1, keepdim=True)[0]
    q_max = 2 ** (n_bits - 1) - 1
    scales.clamp_(min=1e-5).div_(q_max)
    codes = w.div_(scales).round_()
    return codes, scales


def run_smoothquant_authors(model, config, stats, dtype):
    out, groups, col = {}, [], {}
    # smooth_lm, LLaMA branch (smooth.py lines 126-141)
    for name, module in model.named_modules():
        if type(module).__name__ != "LlamaDecoderLayer":
            continue
        for ln_name, fc_names in (("input_layernorm", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
                                  ("post_attention_layernorm", ["mlp.gate_proj", "mlp.up_proj"])):
            ln = module.get_submodule(ln_name)
            fcs = [module.get_submodule(n) for n in fc_names]
            first = f"{name}.{fc_names[0]}"
            act = stats[f"{first}.absmax"].clone()               # scales[name + '.self_attn.q_proj'] etc.
            s, new_norm, new_fcs = smoothquant_port_ln_fcs(ln.weight.data, [f.weight.data for f in fcs], act, ALPHA)
            assert s.dtype == dtype
            ln.weight.data.copy_(new_norm)
            for f, nw in zip(fcs, new_fcs):
                f.weight.data.copy_(nw)
            out[f"{first}.smoothing_scale"] = s.clone()
            for n in fc_names:
                col[f"{name}.{n}"] = s.clone()
            groups.append({"source": f"{name}.{ln_name}", "kind": "norm",
                           "fcs": [f"{name}.{n}" for n in fc_names], "statistic": f"{first}.absmax",
                           "scale_key": f"{first}.smoothing_scale", "smoothed": True})
    for name, lin in model.named_modules():
        if name.startswith("model.layers.") and isinstance(lin, torch.nn.Linear):
            codes, scales = smoothquant_port_quantize_weight_per_channel_absmax(lin.weight.data)
            assert codes.dtype == dtype and scales.dtype == dtype
            assert bool((codes == codes.round()).all()) and bool(torch.isfinite(codes).all()), name
            assert float(codes.abs().max()) <= 128, name       # |w / (absmax / 127)| <= 127 (1 + 2u)
            out[f"{name}.weight"] = codes.to(torch.int32).contiguous()
            out[f"{name}.scale"] = scales.contiguous()
    # int8 when every code fits; otherwise (+128: the quotient absmax / scale rounds, in
    # bfloat16, to 127.5 and round() takes it to the even 128) every .weight of the file
    # stays int32 (a dtype smoothcheck reads) so that no code wraps.
    weights = [k for k in out if k.endswith(".weight") and out[k].dtype == torch.int32]
    if all(int(out[k].max()) <= 127 and int(out[k].min()) >= -128 for k in weights):
        for k in weights:
            out[k] = out[k].to(torch.int8)
    return out, groups, col, {}


# ----------------------------------------------------------------------------
# sanity checks and writing
# ----------------------------------------------------------------------------

U = {torch.float32: 2.0 ** -24, torch.bfloat16: 2.0 ** -8}   # unit roundoff


def sanity(engine, dname, dtype, out, state, col, row, config):
    """Dequantised codes / s reproduce the original weights within quantisation
    error; norm * s reproduces the original norm. Returns the worst error in units
    of the row's scale."""
    u = U[dtype]
    # Rounding of the quotient w / scale before round(): in the weight dtype for the
    # authors (fake_quant.py line 12) and compressed-tensors (forward_helpers.py _quantize
    # line 530); float32 for lmdeploy (w8a8_kernels.py line 20).
    q_div = 0.0 if engine == "lmdeploy" else 128 * u
    worst = 0.0
    for L in range(config.num_hidden_layers):
        for x in LINEARS:
            n = linear_key(L, x)
            codes = out[f"{n}.weight"].to(torch.float64)
            scale = out[f"{n}.scale"].to(torch.float64)
            w = state[f"{n}.weight"].to(torch.float64)
            c = col[n].to(torch.float64) if n in col else torch.ones(w.shape[1], dtype=torch.float64)
            r = row[n].to(torch.float64) if n in row else torch.ones(w.shape[0], dtype=torch.float64)
            recon = codes * scale / c.view(1, -1) * r.view(-1, 1)
            err = (recon - w).abs()
            # one rounding of W*s (two for lmdeploy's up_proj: *s then /s'), in the model dtype
            nround = 1 + (n in col) + (n in row)
            bound = scale * (0.5 + q_div + 1e-6) / c.view(1, -1) * r.view(-1, 1) + nround * u * w.abs()
            assert bool((err <= bound).all()), (engine, dname, n, float((err - bound).max()))
            worst = max(worst, float((err * c.view(1, -1) / r.view(-1, 1) / scale).max()))
        for nm in NORMS:
            k = f"model.layers.{L}.{nm}.weight"
            norm0 = state[k].to(torch.float64)
            norm1 = out[k].to(torch.float64)
            first = {"input_layernorm": "self_attn.q_proj", "post_attention_layernorm": "mlp.gate_proj"}[nm]
            s = col[linear_key(L, first)].to(torch.float64)
            assert bool(((norm1 * s - norm0).abs() <= 2 * u * norm0.abs()).all()), (engine, dname, k)
    return worst


def write(engine, dname, dtype, out, groups, vers, upstream, statistic):
    for k in list(out):
        out[k] = out[k].detach().cpu().contiguous()
    wkeys = [k for k in out if k.endswith(".weight") and not k.endswith("layernorm.weight")]
    codes_dtypes = sorted({str(out[k].dtype).replace("torch.", "") for k in wkeys})
    codes = torch.cat([out[k].reshape(-1).to(torch.int32) for k in wkeys])
    n127 = int((codes.abs() == 127).sum())
    n128 = int((codes == -128).sum())
    p128 = int((codes == 128).sum())
    maxabs = int(codes.abs().max())
    rows_p128 = sorted(f"{k[:-len('.weight')]}[{r}]" for k in wkeys
                       for r in (out[k] == 128).any(dim=1).nonzero().flatten().tolist())
    meta = {
        "generator": GENERATOR,
        "engine": engine,
        "dtype": {"f32": "float32", "bf16": "bfloat16"}[dname],
        "alpha": repr(ALPHA),
        "torch": torch.__version__,
        "packages": json.dumps(vers, sort_keys=True),
        "statistic": statistic,
        "upstream": upstream,
        "groups": json.dumps(groups, sort_keys=True),
        "smoothed_groups": json.dumps([g["source"] for g in groups if g["smoothed"]]),
        "skipped_groups": json.dumps([g["source"] + " -> " + ",".join(g["fcs"]) for g in groups if not g["smoothed"]]),
        "codes_dtype": ",".join(codes_dtypes),
        "code_counts": json.dumps({"max_abs": maxabs, "abs_127": n127, "minus_128": n128, "plus_128": p128,
                                   "total": codes.numel()}, sort_keys=True),
    }
    if p128:
        meta["codes_plus_128"] = json.dumps({"count": p128, "rows": rows_p128, "why": (
            "upstream's codes reach +128, outside int8, so every .weight here is int32: in bfloat16 "
            "scale = bf16(absmax / 127) and the quotient absmax / scale is rounded to bfloat16 "
            "(fake_quant.py line 12, w.div_(scales)) before round_(); where it lands on 127.5, round "
            "half to even gives 128")})
    path = os.path.join(OUT_DIR, f"{engine}_{dname}.safetensors")
    save_file({k: out[k] for k in sorted(out)}, path, metadata=meta)
    _sort_metadata_in_header(path)
    os.chmod(path, 0o644)                      # save_file creates it 0600
    back = load_file(path)
    with safetensors.safe_open(path, "pt") as f:
        assert f.metadata() == meta
    assert sorted(back) == sorted(out) and all(same_bits(back[k], out[k]) for k in out)
    return path, maxabs, n127, n128, p128, codes.numel(), ",".join(codes_dtypes)


def _sort_metadata_in_header(path):
    """safetensors (0.8.0) writes __metadata__ from a Rust HashMap, in an order that
    changes from run to run; the tensor entries and the data are deterministic.
    Rewrite the header with the __metadata__ keys sorted: same JSON object, same
    length (serde_json's compact form: no spaces, non-ASCII unescaped), same
    space padding, so every offset stays put."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = blob[8:8 + n]
    text = header.rstrip(b" ")
    pairs = json.loads(text, object_pairs_hook=lambda p: p)
    rebuilt = []
    for k, v in pairs:
        if k == "__metadata__":
            v = sorted(v)
        rebuilt.append((k, v))

    def dump(x):
        if isinstance(x, list) and all(isinstance(e, tuple) and len(e) == 2 for e in x) and x:
            return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump(v) for k, v in x) + "}"
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    new = dump(rebuilt).encode("utf-8")
    assert len(new) == len(text), (len(new), len(text))
    assert json.loads(new) == json.loads(text)
    with open(path, "wb") as f:
        f.write(blob[:8] + new + header[len(text):] + blob[8 + n:])


UPSTREAM = {
    "lmdeploy": ("lmdeploy {v}: lmdeploy/lite/quantization/awq.py smooth_layers loop body (lines 352-368) "
                 "calling smooth_ln_fcs (line 161) for NORM_FCS_MAP['LlamaDecoderLayer'] (lines 7-10) then "
                 "smooth_fc_fcs (line 214) for FC_FCS_MAP['LlamaDecoderLayer'] (lines 71-74), group_size -1, "
                 "alpha 0.5; lmdeploy/pytorch/models/q_modules.py QLinear.from_float (line 105) -> "
                 "lmdeploy/pytorch/kernels/default/w8a8_kernels.py per_channel_quant (line 5)"),
    "llmcompressor": ("llmcompressor {v}: llmcompressor/modifiers/transform/smoothquant/base.py "
                      "SmoothQuantModifier(smoothing_strength=0.5) _infer_mappings_from_model (line 175), "
                      "_resolve_mappings (line 186), _apply_smoothing (line 322) with "
                      "_calculate_smoothing_scales (line 383); compressed-tensors {ct}: "
                      "compressed_tensors/quantization/utils/helpers.py calculate_qparams (line 51) on per-row "
                      "torch.amin/amax + compressed_tensors/quantization/lifecycle/forward.py quantize (line 37), "
                      "QuantizationArgs(num_bits=8, type=int, symmetric=True, strategy=channel)"),
    "smoothquant_authors": (f"PORTS of mit-han-lab/smoothquant (GitHub, commit {SQ_COMMIT}): smoothquant/smooth.py "
                            "smooth_lm LLaMA branch (lines 126-141) -> smooth_ln_fcs_llama_like (lines 48-71); "
                            "smoothquant/fake_quant.py quantize_weight_per_channel_absmax (lines 6-13), codes "
                            "taken before its final mul_(scales)"),
}
STATISTIC = {
    "lmdeploy": "absmax of the group's first fc (float32; awq.py casts it to the fc dtype, lines 182 / 236)",
    "llmcompressor": "max - min of the group's first fc, both cast to the model dtype as its observer holds them (subtraction in that dtype)",
    "smoothquant_authors": "absmax of the group's first fc (float32; smooth.py line 57 casts it to the fc dtype)",
}
RUNNERS = {"lmdeploy": run_lmdeploy, "llmcompressor": run_llmcompressor,
           "smoothquant_authors": run_smoothquant_authors}


def main(argv):
    model_dir = os.path.abspath(argv[1]) if len(argv) > 1 else os.path.abspath(DEFAULT_MODEL_DIR)
    assert torch.backends.cpu.get_cpu_capability() == "DEFAULT"
    vers = versions()
    stats = load_stats()
    for engine, runner in RUNNERS.items():
        upstream = UPSTREAM[engine].format(v=vers.get(engine, ""), ct=vers["compressed-tensors"])
        for dname, dtype in DTYPES.items():
            model, config, state = load_model(model_dir, dtype)
            out, groups, col, row = runner(model, config, stats, dtype)
            for L in range(config.num_hidden_layers):
                for nm in NORMS:
                    k = f"model.layers.{L}.{nm}.weight"
                    out[k] = model.get_parameter(k).data.clone()
                    assert out[k].dtype == dtype
            expected_keys = {f"{linear_key(L, x)}.{t}" for L in range(config.num_hidden_layers)
                             for x in LINEARS for t in ("weight", "scale")}
            expected_keys |= {f"model.layers.{L}.{nm}.weight" for L in range(config.num_hidden_layers) for nm in NORMS}
            expected_keys |= {g["scale_key"] for g in groups if g["smoothed"]}
            assert set(out) == expected_keys, set(out) ^ expected_keys
            for k, v in out.items():
                assert bool(torch.isfinite(v.float()).all()), k
            worst = sanity(engine, dname, dtype, out, state, col, row, config)
            path, maxabs, n127, n128, p128, total, cdt = write(engine, dname, dtype, out, groups, vers, upstream,
                                                               STATISTIC[engine])
            skipped = sum(1 for g in groups if not g["smoothed"])
            print(f"{os.path.relpath(path, REPO_ROOT)}: {len(out)} tensors, {os.path.getsize(path)} bytes; "
                  f"codes {cdt} max|q| {maxabs}, |q|=127: {n127}, q=-128: {n128}, q=+128: {p128} of {total}; "
                  f"groups smoothed {len(groups) - skipped}, skipped {skipped}; "
                  f"worst |deq - W*s|/scale {worst:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
