#!/usr/bin/env python3
"""Load a W8A8 checkpoint directory with the upstream library's own loading code and
check what it loaded against the raw safetensors.

  load_check.py DIR --format compressed-tensors|lmdeploy [--model ORIGINAL_HF_DIR]
                    [--dtype auto|float16|bfloat16|float32]

compressed-tensors
  transformers AutoModelForCausalLM.from_pretrained(DIR, dtype="auto",
  quantization_config=CompressedTensorsConfig(dequantize=False), output_loading_info=True):
  transformers' CompressedTensorsHfQuantizer applies the config (apply_quantization_config)
  and compress_model()s the empty model so that the checkpoint's int8 `weight`,
  `weight_scale`, `input_scale`... are loaded as they are. Checks:
    - loading info: no missing / unexpected / mismatched keys, no error messages;
    - every file tensor is a key of the loaded state dict and every state-dict key comes
      from the file (lm_head.weight excepted when the embeddings are tied);
    - every loaded tensor equals the file's bit for bit and has the file's dtype (the
      library casts silently on load: a dtype difference means the file is not in the
      dtype the library registers);
    - per quantised linear: the file holds exactly the tensors compressed-tensors'
      IntQuantizationCompressor expects (weight, weight_scale, weight_zero_point only when
      asymmetric, input_scale/zero point only for static activations), shapes by strategy;
  then ModelCompressor.decompress_model (the compressor transformers built) dequantises;
  each linear's float weight is compared with codes x scale computed here from the file
  (float64 difference, must be 0). Finally one forward pass on 8 tokens must be finite.

lmdeploy
  lmdeploy's PyTorch engine path, on the CPU: ModelConfig.from_pretrained(DIR, dtype) (the
  engine's dtype rule: 'auto' turns a float32 checkpoint into float16), build_patched_model
  with a BuildModelContext carrying the checkpoint's QuantizationConfig (W8A8Linear /
  QKVW8A8Linear / MergedW8A8Linear modules), then model_weight_loader.load_model_weights
  (the model's load_weights + process_weights_after_loading). The load_weight calls are
  recorded (not changed) to know which file tensor went into which parameter. Checks:
    - every file tensor was handed to a parameter (the model silently skips lm_head.weight
      under tied embeddings and rotary tensors: such a tensor in the file is an error);
    - every parameter was written (parameters are pre-filled with NaN / bitwise-not of the
      expected codes);
    - linear weights are int8 and scales float32 [out, 1] in the file (what W8A8Linear
      registers; default_weight_loader would copy_() anything castable);
    - merged q/k/v and gate/up parameters equal the file's tensors stacked in lmdeploy's
      order; norms and embeddings equal the file's tensor cast to the engine dtype;
    - dequantised weights (parameter codes x parameter scale, per original linear) equal
      codes x scale from the file (must be 0).
  No forward pass: lmdeploy's attention and int8 GEMM kernels are CUDA/Triton only.

--model ORIGINAL_HF_DIR (both formats)
  The quantised linears and their shapes must be exactly the original's linears under
  model.layers; tensors that are neither linears nor norms (embed_tokens, lm_head) must
  equal the original's (cast to the loaded dtype); the final norm must equal the
  original's. For each linear, the original weight is smoothed with the s the norms imply
  (s = original norm / checkpoint norm, 1 where the original is 0) for q/k/v
  (input_layernorm) and gate/up (post_attention_layernorm), s = 1 for o/down, and the
  dequantised weight must lie within half a quantisation step (x 1.001) of W0 * s.
  Strict for q_proj, k_proj, gate_proj (only ever norm-smoothed by either tool); reported
  as a warning for v/o/up/down, which an fc->fc smoothing (lmdeploy up->down, v->o without
  GQA) legitimately moves.

Exit status 0 only when every check passes; 1 on any mismatch; 2 on a load error.
"""

import argparse
import json
import os
import re
import struct
import sys
import traceback

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

from safetensors import safe_open  # noqa: E402

LINEAR_RE = re.compile(r"^model\.layers\.(\d+)\.(self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)$")
NORM_OF = {"self_attn.q_proj": "input_layernorm", "self_attn.k_proj": "input_layernorm",
           "self_attn.v_proj": "input_layernorm", "mlp.gate_proj": "post_attention_layernorm",
           "mlp.up_proj": "post_attention_layernorm"}
STRICT_VS_ORIGINAL = ("self_attn.q_proj", "self_attn.k_proj", "mlp.gate_proj")


class Failures:
    def __init__(self):
        self.items = []

    def add(self, msg):
        self.items.append(msg)
        print(f"FAIL: {msg}")


def read_safetensors(d):
    path = os.path.join(d, "model.safetensors")
    if not os.path.isfile(path):
        idx = os.path.join(d, "model.safetensors.index.json")
        if os.path.isfile(idx):
            with open(idx) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        else:
            raise FileNotFoundError(f"no model.safetensors in {d}")
    else:
        files = ["model.safetensors"]
    out = {}
    for fn in files:
        with safe_open(os.path.join(d, fn), framework="pt") as f:
            for k in f.keys():
                assert k not in out, f"duplicate tensor {k}"
                out[k] = f.get_tensor(k)
    return out


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.is_floating_point:
        ib = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16,
              torch.float64: torch.int64}[a.dtype]
        return torch.equal(a.contiguous().view(ib), b.contiguous().view(ib))
    return torch.equal(a, b)


def max_abs_diff(a, b):
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def expand_scale(scale, shape, strategy, group_size=None):
    """scale broadcast to the weight's [out, in] shape, by strategy."""
    out_f, in_f = shape
    if strategy == "tensor":
        return scale.reshape(1, 1).expand(out_f, in_f)
    if strategy == "channel":
        return scale.reshape(out_f, 1).expand(out_f, in_f)
    if strategy == "group":
        return scale.reshape(out_f, -1).repeat_interleave(group_size, dim=1)[:, :in_f]
    raise ValueError(f"strategy {strategy!r} not handled by this check")


# ----------------------------------------------------------------------------
# compressed-tensors
# ----------------------------------------------------------------------------

def expected_ct_shapes(args, out_f, in_f, prefix):
    st = args.strategy
    if st == "tensor":
        return (1,)
    if st == "channel":
        return (out_f, 1)
    if st == "group":
        return (out_f, (in_f + args.group_size - 1) // args.group_size)
    if st == "token" or st == "tensor_group":
        return None
    raise ValueError(f"{prefix}: strategy {st} not handled by this check")


def check_compressed_tensors(d, fail, dtype_arg):
    from transformers import AutoModelForCausalLM
    from transformers.utils.quantization_config import CompressedTensorsConfig

    file = read_safetensors(d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    qc = cfg.get("quantization_config")
    if not qc or qc.get("quant_method") != "compressed-tensors":
        fail.add("config.json quantization_config.quant_method is not 'compressed-tensors'")
        return None
    print(f"quantization_config.format={qc.get('format')} status={qc.get('quantization_status')} "
          f"version={qc.get('version')}")

    dtype = "auto" if dtype_arg == "auto" else getattr(torch, dtype_arg)
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            d, dtype=dtype, quantization_config=CompressedTensorsConfig(dequantize=False),
            output_loading_info=True)
    except Exception:
        traceback.print_exc()
        raise LoadError("transformers/compressed-tensors from_pretrained failed")
    model.eval()
    print(f"loaded {type(model).__name__} dtype={model.dtype} quantizer={type(model.hf_quantizer).__name__}")
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(k):
            fail.add(f"loading info {k}: {sorted(map(str, info[k]))}")

    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    sd = model.state_dict()
    sd_keys = set(sd)
    file_keys = set(file)
    allowed_absent = {"lm_head.weight"} if tied else set()
    for k in sorted(file_keys - sd_keys):
        fail.add(f"file tensor {k} not consumed by the model")
    for k in sorted(sd_keys - file_keys - allowed_absent):
        fail.add(f"model tensor {k} not provided by the file")
    if tied and "lm_head.weight" in file_keys:
        fail.add("lm_head.weight in the file while tie_word_embeddings is true")
    for k in sorted(file_keys & sd_keys):
        a, b = sd[k], file[k]
        if a.dtype != b.dtype:
            fail.add(f"{k}: file dtype {b.dtype}, library holds {a.dtype} (cast on load)")
        elif not same_bits(a, b):
            fail.add(f"{k}: loaded tensor differs from the file")

    # per-linear tensor inventory, by each module's scheme
    from compressed_tensors.quantization import QuantizationStatus

    qmods = {n: m for n, m in model.named_modules()
             if isinstance(getattr(m, "quantization_scheme", None), object)
             and getattr(m, "quantization_scheme", None) is not None}
    refs = {}
    for name, mod in qmods.items():
        sch = mod.quantization_scheme
        if getattr(mod, "quantization_status", None) != QuantizationStatus.COMPRESSED:
            fail.add(f"{name}: status {getattr(mod, 'quantization_status', None)} after load, expected compressed")
        w = file.get(f"{name}.weight")
        if w is None:
            fail.add(f"{name}: no weight in the file")
            continue
        wa = sch.weights
        exp_dtype = wa.pytorch_dtype()
        if w.dtype != exp_dtype:
            fail.add(f"{name}.weight: dtype {w.dtype}, the scheme's codes are {exp_dtype}")
        expected = {f"{name}.weight", f"{name}.weight_scale"}
        if not wa.symmetric:
            expected.add(f"{name}.weight_zero_point")
        if wa.strategy == "group" and wa.actorder == "group":
            expected.add(f"{name}.weight_g_idx")
        ia = sch.input_activations
        if ia is not None and not ia.dynamic:
            expected.add(f"{name}.input_scale")
            if not ia.symmetric:
                expected.add(f"{name}.input_zero_point")
        present = {k for k in file if k.startswith(name + ".")}
        for k in sorted(expected - present):
            fail.add(f"{k}: expected by the scheme, absent from the file")
        for k in sorted(present - expected):
            fail.add(f"{k}: in the file but not part of the scheme's tensors")
        out_f, in_f = w.shape
        ws = file.get(f"{name}.weight_scale")
        if ws is not None:
            es = expected_ct_shapes(wa, out_f, in_f, name)
            if es is not None and tuple(ws.shape) != es:
                fail.add(f"{name}.weight_scale: shape {list(ws.shape)}, strategy {wa.strategy} expects {list(es)}")
            if not ws.dtype.is_floating_point:
                fail.add(f"{name}.weight_scale: dtype {ws.dtype} is not floating point")
            if ws.dtype != model.dtype and wa.scale_dtype is None:
                fail.add(f"{name}.weight_scale: dtype {ws.dtype}; the library registers scales in the model "
                         f"dtype {model.dtype}")
        if ia is not None and not ia.dynamic and f"{name}.input_scale" in file:
            isc = file[f"{name}.input_scale"]
            es = (1,) if ia.strategy == "tensor" else None
            if es is not None and tuple(isc.shape) != es:
                fail.add(f"{name}.input_scale: shape {list(isc.shape)}, expected {list(es)}")
            if isc.dtype != model.dtype and ia.scale_dtype is None:
                fail.add(f"{name}.input_scale: dtype {isc.dtype}; the library registers it in {model.dtype}")
        if ws is not None:
            zp = file.get(f"{name}.weight_zero_point")
            codes = w.to(ws.dtype)
            if zp is not None:
                codes = codes - expand_scale(zp.to(ws.dtype), w.shape, wa.strategy, wa.group_size)
            refs[name] = codes * expand_scale(ws, w.shape, wa.strategy, wa.group_size)

    try:
        model.hf_quantizer.compressor.decompress_model(model=model)
    except Exception:
        traceback.print_exc()
        raise LoadError("compressed-tensors decompress_model failed")

    deq = {}
    print(f"{'linear':44s} {'dtype':>9s} {'shape':>11s} max|deq - codes*scale|")
    for name, ref in sorted(refs.items(), key=lambda kv: _order(kv[0])):
        mod = model.get_submodule(name)
        wt = mod.weight.detach()
        if wt.dtype != model.dtype:
            fail.add(f"{name}: dequantised weight dtype {wt.dtype}, model dtype {model.dtype}")
        if tuple(wt.shape) != tuple(ref.shape):
            fail.add(f"{name}: dequantised shape {list(wt.shape)} vs {list(ref.shape)}")
            continue
        diff = max_abs_diff(wt, ref)
        print(f"{name:44s} {str(wt.dtype)[6:]:>9s} {str(list(wt.shape)):>11s} {diff:.3g}")
        if diff != 0.0 or not torch.isfinite(wt).all():
            fail.add(f"{name}: dequantised weight differs from codes x scale (max {diff:.3g})")
        deq[name] = wt.float()
    print(f"{len(refs)} quantised linears checked")

    with torch.no_grad():
        try:
            logits = model(input_ids=torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])).logits
        except Exception:
            traceback.print_exc()
            raise LoadError("forward pass of the dequantised model failed")
    if not torch.isfinite(logits).all():
        fail.add("forward pass gave non-finite logits")
    else:
        print("forward pass on 8 tokens: finite logits")
    loaded = {k: v for k, v in model.state_dict().items()}
    return deq, {k: v for k, v in loaded.items() if not k.endswith(("_scale", "_zero_point"))}, model.dtype


def _order(name):
    m = LINEAR_RE.match(name)
    kinds = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    return (int(m.group(1)), kinds.index(m.group(2))) if m else (10 ** 9, name)


# ----------------------------------------------------------------------------
# lmdeploy
# ----------------------------------------------------------------------------

def check_lmdeploy(d, fail, dtype_arg):
    from lmdeploy.pytorch.config import ModelConfig
    from lmdeploy.pytorch.model_inputs import BuildModelContext
    from lmdeploy.pytorch.models import patch as lm_patch
    from lmdeploy.pytorch.weight_loader import model_weight_loader as mwl

    file = read_safetensors(d)
    try:
        mcfg = ModelConfig.from_pretrained(d, dtype=dtype_arg, device_type="cuda")
    except Exception:
        traceback.print_exc()
        raise LoadError("lmdeploy ModelConfig.from_pretrained failed")
    qc = mcfg.quant_config
    print(f"lmdeploy QuantizationConfig: method={qc.quant_method} quant_dtype={qc.quant_dtype} "
          f"ignored={qc.ignored_layers}; engine dtype {mcfg.dtype} (checkpoint config dtype "
          f"{getattr(mcfg.hf_config, 'dtype', None) or getattr(mcfg.hf_config, 'torch_dtype', None)})")
    if qc.quant_method != "smooth_quant":
        fail.add(f"quant_method {qc.quant_method!r}, expected 'smooth_quant'")
    ctx = BuildModelContext(quant_config=qc, tie_word_embeddings=mcfg.tie_word_embeddings)
    try:
        model = lm_patch.build_patched_model(mcfg, device=torch.device("cpu"), build_model_ctx=ctx)
    except Exception:
        traceback.print_exc()
        raise LoadError("lmdeploy build_patched_model failed")
    print(f"built {type(model).__module__}.{type(model).__name__}")
    params = dict(model.named_parameters())

    # record (not alter) which file tensor goes where: the model module calls the
    # load_weight it imported from model_weight_loader.
    model_mod = sys.modules[type(model).__module__]
    orig_load_weight = model_mod.load_weight
    pid = {id(p): n for n, p in params.items()}
    calls = []

    def recording_load_weight(param, loaded_weight, **kwargs):
        calls.append((pid.get(id(param)), kwargs.get("shard_id"), loaded_weight))
        return orig_load_weight(param, loaded_weight, **kwargs)

    # file names seen by load_weights
    seen = []
    orig_iter = mwl.ModelWeightLoader._get_weights_iterator

    def recording_iter(self, path):
        for name, t in orig_iter(self, path):
            seen.append((name, t))
            yield name, t

    # expected parameters from the file, in lmdeploy's stacking (llama.py load_weights)
    stack = {"q_proj": ("qkv_proj", 0), "k_proj": ("qkv_proj", 1), "v_proj": ("qkv_proj", 2),
             "gate_proj": ("gate_up_proj", 0), "up_proj": ("gate_up_proj", 1)}
    parts = {}
    for k, t in file.items():
        m = re.match(r"^(.*)\.(q_proj|k_proj|v_proj|gate_proj|up_proj)\.(weight|scale|bias)$", k)
        if m:
            merged, idx = stack[m.group(2)]
            parts.setdefault(f"{m.group(1)}.{merged}.{m.group(3)}", {})[idx] = (k, t)
    expected = {}
    for pname, ps in parts.items():
        need = 3 if ".qkv_proj." in pname else 2
        if sorted(ps) != list(range(need)):
            fail.add(f"{pname}: file lacks parts {sorted(set(range(need)) - set(ps))} of the stacked parameter")
            continue
        expected[pname] = torch.cat([ps[i][1] for i in range(need)], dim=0)
    for k, t in file.items():
        if not re.match(r"^(.*)\.(q_proj|k_proj|v_proj|gate_proj|up_proj)\.(weight|scale|bias)$", k):
            expected[k] = t

    # strict file dtypes for the W8A8 tensors
    for k, t in file.items():
        base = k.rsplit(".", 1)[0]
        if LINEAR_RE.match(base):
            if k.endswith(".weight") and t.dtype != torch.int8:
                fail.add(f"{k}: dtype {t.dtype}, W8A8Linear holds int8 codes")
            if k.endswith(".scale"):
                if t.dtype != torch.float32:
                    fail.add(f"{k}: dtype {t.dtype}, W8A8Linear holds float32 scales")
                w = file.get(base + ".weight")
                if w is not None and tuple(t.shape) != (w.shape[0], 1):
                    fail.add(f"{k}: shape {list(t.shape)}, W8A8Linear expects [{w.shape[0]}, 1]")
            if not k.endswith((".weight", ".scale", ".bias")):
                fail.add(f"{k}: not a tensor of lmdeploy's W8A8Linear")

    # pre-fill so that an unwritten parameter cannot pass
    with torch.no_grad():
        for n, p in params.items():
            e = expected.get(n)
            if p.dtype.is_floating_point:
                p.data.fill_(float("nan"))
            elif e is not None and e.shape == p.shape and e.dtype == p.dtype:
                p.data.copy_(torch.bitwise_not(e))
            else:
                p.data.fill_(0)

    model_mod.load_weight = recording_load_weight
    mwl.ModelWeightLoader._get_weights_iterator = recording_iter
    try:
        mwl.load_model_weights(model, d, device=torch.device("cpu"))
    except Exception:
        traceback.print_exc()
        raise LoadError("lmdeploy load_model_weights failed")
    finally:
        model_mod.load_weight = orig_load_weight
        mwl.ModelWeightLoader._get_weights_iterator = orig_iter

    for k in sorted(set(file) - {name for name, _ in seen}):
        fail.add(f"file tensor {k} never read by lmdeploy's loader")
    # the model hands the very tensor object it read to load_weight; the ones it never
    # handed on were dropped (seen keeps every object alive, so ids are unique)
    handed = {id(t) for _, _, t in calls}
    skipped = [name for name, t in seen if id(t) not in handed]
    if skipped:
        fail.add(f"file tensor(s) read but silently skipped by lmdeploy's load_weights: {skipped}")

    params = dict(model.named_parameters())
    tied = bool(mcfg.tie_word_embeddings)
    for n, p in params.items():
        if n == "lm_head.weight" and tied:
            e = params["model.embed_tokens.weight"].data
            if not same_bits(p.data, e):
                fail.add("lm_head.weight is not the embedding table under tie_word_embeddings")
            continue
        e = expected.get(n)
        if e is None:
            fail.add(f"parameter {n} has no tensor in the file")
            continue
        if tuple(e.shape) != tuple(p.shape):
            fail.add(f"{n}: file shape {list(e.shape)}, parameter {list(p.shape)}")
            continue
        if p.dtype.is_floating_point and e.dtype.is_floating_point and p.dtype != e.dtype:
            if LINEAR_RE.match(n.rsplit(".", 1)[0].replace("qkv_proj", "q_proj").replace("gate_up_proj", "gate_proj")):
                fail.add(f"{n}: file {e.dtype}, parameter {p.dtype}")
            e = e.to(p.dtype)
        elif p.dtype != e.dtype:
            fail.add(f"{n}: file dtype {e.dtype}, parameter {p.dtype}")
            continue
        if not same_bits(p.data, e):
            fail.add(f"{n}: loaded parameter differs from the file (max {max_abs_diff(p.data.float(), e.float()):.3g})")
    for n in sorted(set(expected) - set(params)):
        fail.add(f"file tensor {n} has no parameter in lmdeploy's model")
    cast = sorted({(str(file[k].dtype), str(params[k].dtype)) for k in file
                   if k in params and file[k].dtype != params[k].dtype})
    if cast:
        print(f"note: lmdeploy casts the float tensors (norms, embeddings) on load: {cast}")

    # dequantised weights per original linear
    deq = {}
    print(f"{'linear':44s} {'shape':>11s} max|param codes*scale - file codes*scale|")
    splits = {}
    for pname in params:
        if pname.endswith(".weight") and (".qkv_proj." in pname or ".gate_up_proj." in pname):
            base = pname[:-len(".weight")]
            names = (["q_proj", "k_proj", "v_proj"] if base.endswith("qkv_proj") else ["gate_proj", "up_proj"])
            prefix = base.rsplit(".", 1)[0]
            splits[base] = [f"{prefix}.{x}" for x in names]
        elif pname.endswith(".weight") and LINEAR_RE.match(pname[:-len(".weight")]):
            splits[pname[:-len(".weight")]] = [pname[:-len(".weight")]]
    for base, originals in sorted(splits.items()):
        w = params[base + ".weight"].data
        s = params.get(base + ".scale")
        if s is None:
            fail.add(f"{base}: no scale parameter")
            continue
        dq = w.to(torch.float32) * s.data.to(torch.float32)
        row = 0
        for o in originals:
            fw, fs = file.get(o + ".weight"), file.get(o + ".scale")
            if fw is None or fs is None:
                continue
            ref = fw.to(torch.float32) * fs.to(torch.float32)
            got = dq[row:row + fw.shape[0]]
            row += fw.shape[0]
            diff = max_abs_diff(got, ref)
            deq[o] = got
            if diff != 0.0 or not torch.isfinite(got).all():
                fail.add(f"{o}: dequantised weight differs from codes x scale (max {diff:.3g})")
        if row != w.shape[0]:
            fail.add(f"{base}: rows {w.shape[0]} but the file's parts have {row}")
    for o in sorted(deq, key=_order):
        print(f"{o:44s} {str(list(deq[o].shape)):>11s} "
              f"{max_abs_diff(deq[o], file[o + '.weight'].float() * file[o + '.scale'].float()):.3g}")
    print(f"{len(deq)} quantised linears checked (no forward pass: lmdeploy's kernels need CUDA)")
    others = {n: p.data for n, p in params.items() if not n.endswith((".scale",))
              and not (".qkv_proj." in n or ".gate_up_proj." in n or LINEAR_RE.match(n.rsplit(".", 1)[0]))}
    return deq, others, mcfg.dtype


# ----------------------------------------------------------------------------
# against the original float model
# ----------------------------------------------------------------------------

def check_against_original(model_dir, d, deq, others, fail, fmt):
    orig = read_safetensors(model_dir)
    file = read_safetensors(d)
    orig_lin = {k[:-len(".weight")]: v for k, v in orig.items()
                if k.endswith(".weight") and LINEAR_RE.match(k[:-len(".weight")])}
    if set(orig_lin) != set(deq):
        fail.add(f"quantised linears differ from the original's: missing {sorted(set(orig_lin) - set(deq))}, "
                 f"extra {sorted(set(deq) - set(orig_lin))}")
    for k, o in orig.items():
        if "layernorm" in k or k == "model.norm.weight" or LINEAR_RE.match(k.rsplit(".", 1)[0]):
            continue
        got = others.get(k)
        if got is None:
            if k == "lm_head.weight" and "lm_head.weight" not in file:
                continue
            fail.add(f"original tensor {k} not in the loaded model")
            continue
        if not same_bits(got, o.to(got.dtype)):
            fail.add(f"{k}: differs from the original (max {max_abs_diff(got, o):.3g})")
    for k in ("model.norm.weight",):
        if k in orig and k in file and not same_bits(file[k], orig[k].to(file[k].dtype)):
            fail.add(f"{k}: the final norm differs from the original (no tool smooths it)")

    print(f"{'linear vs original (smoothed by the norm ratio s)':44s} max|deq - W0*s| / half-step")
    for name in sorted(set(orig_lin) & set(deq), key=_order):
        m = LINEAR_RE.match(name)
        layer, kind = m.group(1), m.group(2)
        w0 = orig_lin[name].double()
        w = deq[name].double()
        if kind in NORM_OF:
            nk = f"model.layers.{layer}.{NORM_OF[kind]}.weight"
            n0, n1 = orig[nk].double(), file[nk].double()
            s = torch.where(n0 == 0, torch.ones_like(n0), n0 / n1)
        else:
            s = torch.ones(w.shape[1], dtype=torch.float64)
        if fmt == "lmdeploy":
            half = file[name + ".scale"].double().view(-1, 1) / 2
        else:
            sc = file[name + ".weight_scale"].double()
            half = (sc.view(-1, 1) if sc.numel() > 1 else sc.view(1, 1)) / 2
        ratio = ((w - w0 * s.view(1, -1)).abs() / half).max().item()
        ok = ratio <= 1.001
        tag = "ok" if ok else ("FAIL" if kind in STRICT_VS_ORIGINAL else "warn (fc->fc smoothing?)")
        print(f"{name:44s} {ratio:.4f} {tag}")
        if not ok and kind in STRICT_VS_ORIGINAL:
            fail.add(f"{name}: further than half a step from the original after unsmoothing ({ratio:.4f})")


class LoadError(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--format", required=True, choices=["compressed-tensors", "lmdeploy"])
    ap.add_argument("--model", help="original float HF checkpoint directory")
    ap.add_argument("--dtype", default="auto", help="model dtype to load with (default: the library's 'auto')")
    args = ap.parse_args()
    fail = Failures()
    try:
        if args.format == "compressed-tensors":
            r = check_compressed_tensors(args.dir, fail, args.dtype)
        else:
            r = check_lmdeploy(args.dir, fail, args.dtype)
        if r is not None and args.model:
            deq, others, _ = r
            check_against_original(args.model, args.dir, deq, others, fail, args.format)
    except LoadError as e:
        print(f"LOAD ERROR: {e}")
        return 2
    except Exception:
        traceback.print_exc()
        print("LOAD ERROR: unexpected exception")
        return 2
    if fail.items:
        print(f"RESULT: {len(fail.items)} failure(s)")
        return 1
    print("RESULT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
