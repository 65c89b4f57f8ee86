#!/usr/bin/env python3
"""Known answers for smoothcheck produced by upstream's own code.

What it runs
  Upstream Python functions, imported from the packages pinned in
  requirements.txt beside this file, on small fixed inputs (fixed seeds), and
  writes one JSON file per engine into cases/upstream_known_answers/:

    lmdeploy.json            lmdeploy's awq.get_weight_scale, awq.smooth_ln_fcs,
                             awq.smooth_fc_fcs, QLinear.from_float, and its
                             Triton kernels per_token_quant_int8 and
                             rms_norm_dynamic_quant run by Triton's CPU
                             interpreter (TRITON_INTERPRET=1; see the README for
                             the two substitutions the interpreter needs).
    compressed_tensors.json  compressed-tensors' calculate_qparams + quantize,
                             int8 symmetric per channel.
    llmcompressor.json       llm-compressor's SmoothQuantModifier scale math and
                             application (_calculate_smoothing_scales,
                             _apply_smoothing).
    smoothquant_authors.json PORT of mit-han-lab/smoothquant smooth.py
                             smooth_ln_fcs_llama_like (not on PyPI).
    vllm.json                PORTS of vLLM's dynamic per-token int8 quant kernel
                             and of its CUTLASS W8A8 epilogue with bias
                             (CUDA code; no CPU implementation to call).

  cases/upstream_known_answers/README.md documents each case, its upstream
  file and function, and the schema.

How to run
  bash scripts/upstream_known_answers/run.sh
  (creates /tmp/upstream-venv, installs requirements.txt from PyPI, then runs
  this file with that interpreter). It needs network access to PyPI and about
  6 GB of disk (torch's wheel pulls its CUDA libraries even though only the
  CPU is used).

CI does not run this script. Its outputs are committed; C++ tests compare
against them bit for bit.
"""

import contextlib
import io
import json
import math
import os
import platform
import sys
from fractions import Fraction
from importlib import metadata

# Triton's interpreter must be selected before triton (and lmdeploy's kernels)
# are imported.
os.environ["TRITON_INTERPRET"] = "1"
# torch's CPU kernels without SIMD dispatch: pow then goes through the C
# library's powf (reproducible from C++ with std::pow(float, float) on glibc),
# not the AVX2/AVX-512 vector math, whose results depend on the host CPU.
os.environ["ATEN_CPU_CAPABILITY"] = "default"

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "cases", "upstream_known_answers")
GENERATOR = "scripts/upstream_known_answers/generate.py"

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SHORT = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}


# ----------------------------------------------------------------------------
# JSON tensors
# ----------------------------------------------------------------------------

def tensor_json(t):
    """A tensor as {"dtype", "shape", "bits"|"values"}, row-major."""
    t = t.detach().cpu().contiguous()
    shape = list(t.shape)
    if t.dtype == torch.float32:
        bits = t.view(torch.int32).reshape(-1).numpy().astype(np.int64) & 0xFFFFFFFF
        return {"dtype": "float32", "shape": shape, "bits": [int(b) for b in bits]}
    if t.dtype in (torch.float16, torch.bfloat16):
        name = "float16" if t.dtype == torch.float16 else "bfloat16"
        bits = t.view(torch.int16).reshape(-1).numpy().astype(np.int64) & 0xFFFF
        return {"dtype": name, "shape": shape, "bits": [int(b) for b in bits]}
    if t.dtype in (torch.int8, torch.int32):
        name = "int8" if t.dtype == torch.int8 else "int32"
        return {"dtype": name, "shape": shape, "values": [int(v) for v in t.reshape(-1).tolist()]}
    raise TypeError(f"unsupported dtype {t.dtype}")


def tensor_from_json(j):
    """Inverse of tensor_json (used for the round-trip check)."""
    shape = j["shape"]
    if j["dtype"] == "float32":
        a = np.array(j["bits"], dtype=np.uint32).view(np.int32)
        return torch.from_numpy(a.copy()).view(torch.float32).reshape(shape)
    if j["dtype"] in ("float16", "bfloat16"):
        a = np.array(j["bits"], dtype=np.uint16).view(np.int16)
        return torch.from_numpy(a.copy()).view(DTYPES[j["dtype"]]).reshape(shape)
    dt = torch.int8 if j["dtype"] == "int8" else torch.int32
    return torch.tensor(j["values"], dtype=dt).reshape(shape)


def case(name, step, upstream, port, params, inputs, outputs):
    return {
        "name": name,
        "step": step,
        "upstream": upstream,
        "port": port,
        "params": params,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "outputs": {k: tensor_json(v) for k, v in outputs.items()},
    }


def same_bits(a, b):
    """Bitwise equality of two tensors of one dtype (NaN payloads included)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == torch.float32:
        return torch.equal(a.view(torch.int32), b.view(torch.int32))
    if a.dtype in (torch.float16, torch.bfloat16):
        return torch.equal(a.view(torch.int16), b.view(torch.int16))
    return torch.equal(a, b)


# ----------------------------------------------------------------------------
# Deterministic inputs
# ----------------------------------------------------------------------------

def gen(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def randn(g, *shape):
    return torch.randn(*shape, generator=g, dtype=torch.float32)


def rand(g, *shape, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float32)


# ----------------------------------------------------------------------------
# Exact float32 arithmetic (for the vLLM epilogue port)
# ----------------------------------------------------------------------------

F32_MANT = 24          # significand bits, implicit bit included
F32_EMIN = -126        # smallest normal exponent
F32_MAX = Fraction((2 ** 24 - 1) * 2 ** (127 - 23))


def round_fraction_to_f32(x):
    """Round an exact rational to the nearest float32, ties to even.

    Written for this generator: scale x so the kept significand is an integer,
    round that integer half-to-even, then rescale. Handles subnormals and
    overflow to infinity. Returns a Python float holding a float32 value.
    """
    if x == 0:
        return 0.0
    sign = -1.0 if x < 0 else 1.0
    a = abs(x)
    # exponent e with 2^e <= a < 2^(e+1)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, F32_EMIN)                    # subnormals share the minimum exponent
    quantum = Fraction(2) ** (e - (F32_MANT - 1))
    q = a / quantum
    n = q.numerator // q.denominator
    rem = q - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    r = n * quantum
    if r > F32_MAX:
        return sign * math.inf
    return sign * float(np.float32(float(r)))


def f32(x):
    return float(np.float32(x))


def _self_test_rounding():
    """Known cases for round_fraction_to_f32 (run before every generation)."""
    one = Fraction(1)
    ulp1 = Fraction(1, 2 ** 23)
    assert round_fraction_to_f32(one) == 1.0
    assert round_fraction_to_f32(one + ulp1 / 2) == 1.0                   # tie -> even (1.0)
    assert round_fraction_to_f32(one + ulp1 + ulp1 / 2) == 1.0 + 2 * 2.0 ** -23  # tie -> even (up)
    assert round_fraction_to_f32(one + ulp1 / 2 + Fraction(1, 2 ** 60)) == 1.0 + 2.0 ** -23
    assert round_fraction_to_f32(-(one + ulp1 / 2)) == -1.0
    assert round_fraction_to_f32(Fraction(1, 3)) == f32(1.0 / 3.0)
    assert round_fraction_to_f32(Fraction(2) ** -149) == 2.0 ** -149          # smallest subnormal
    assert round_fraction_to_f32(Fraction(2) ** -150) == 0.0                  # tie -> even (0)
    assert round_fraction_to_f32(Fraction(3, 2 ** 151)) == 2.0 ** -149
    assert round_fraction_to_f32(F32_MAX) == f32(3.4028234663852886e38)
    assert round_fraction_to_f32(F32_MAX + Fraction(2) ** 103) == math.inf    # tie at the top -> inf
    assert round_fraction_to_f32(F32_MAX + Fraction(2) ** 102) == f32(3.4028234663852886e38)
    # Agreement with numpy on random doubles (double -> float32 rounding is RNE).
    rng = np.random.default_rng(1234)
    for v in rng.standard_normal(2000) * np.exp(rng.uniform(-80, 80, 2000)):
        assert round_fraction_to_f32(Fraction(float(v))) == f32(v), v
    # fma against numpy's float64 path where float64 is exact (products of
    # two float32 fit in 48 bits; adding a nearby float32 stays exact).
    for _ in range(2000):
        a, b, c = (np.float32(v) for v in rng.standard_normal(3))
        exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
        assert round_fraction_to_f32(exact) == f32(float(a) * float(b) + float(c))


def round_f32_to(dtype, x):
    """float32 value(s) -> dtype with torch's cast (round to nearest even)."""
    return torch.tensor(x, dtype=torch.float32).to(dtype)


def _self_test_torch_casts():
    # torch's f32 -> f16 / bf16 casts are round-to-nearest-even: check ties.
    assert torch.tensor(1.0 + 2.0 ** -11).to(torch.float16).item() == 1.0
    assert torch.tensor(1.0 + 3 * 2.0 ** -11).to(torch.float16).item() == 1.0 + 2.0 ** -9
    assert torch.tensor(1.0 + 2.0 ** -8).to(torch.bfloat16).item() == 1.0
    assert torch.tensor(1.0 + 3 * 2.0 ** -8).to(torch.bfloat16).item() == 1.0 + 2.0 ** -6


# ----------------------------------------------------------------------------
# lmdeploy
# ----------------------------------------------------------------------------

class _NormLike(torch.nn.Module):
    """A norm with a weight and no bias attribute (LLaMA RMSNorm's layout)."""

    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight.clone(), requires_grad=False)


def _linear(weight, bias=None):
    out_f, in_f = weight.shape
    lin = torch.nn.Linear(in_f, out_f, bias=bias is not None, dtype=weight.dtype)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    lin.requires_grad_(False)
    return lin


def _quiet(fn, *args, **kwargs):
    """Run fn, capturing what it prints; returns (result, printed text)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        r = fn(*args, **kwargs)
    return r, buf.getvalue()


def lmdeploy_cases(versions):
    from lmdeploy.lite.quantization import awq
    from lmdeploy.pytorch.models.q_modules import QLinear

    v = versions["lmdeploy"]
    up_ws = f"lmdeploy {v}, lmdeploy/lite/quantization/awq.py, get_weight_scale"
    up_ln = f"lmdeploy {v}, lmdeploy/lite/quantization/awq.py, smooth_ln_fcs"
    up_fc = f"lmdeploy {v}, lmdeploy/lite/quantization/awq.py, smooth_fc_fcs"
    up_ql = (f"lmdeploy {v}, lmdeploy/pytorch/models/q_modules.py, QLinear.from_float "
             f"(-> lmdeploy/pytorch/kernels/default/w8a8_kernels.py, per_channel_quant)")
    cases = []

    # --- weight_stat -------------------------------------------------------
    for dname, dt in DTYPES.items():
        for zero_row in (True, False):
            for group_size in (-1, 8):
                g = gen(100 + len(cases))
                w = randn(g, 6, 16)
                w[1, 5] *= 100.0                      # outlier element
                w[:, 3] = 0.0                          # a zero column (w_j = 0 before the mean)
                w[2, 7] = 0.3333333                    # rounds in f16/bf16
                if zero_row:
                    w[4, :] = 0.0                      # a row (and both its groups) of zeros
                w = w.to(dt)
                out, printed = _quiet(awq.get_weight_scale, w.clone(), group_size)
                fired = "clamping" in printed
                assert fired == zero_row, (dname, zero_row, group_size, printed)
                cases.append(case(
                    f"lmdeploy_weight_stat_{SHORT[dname]}_{'zero_row' if zero_row else 'no_zero_row'}"
                    f"_g{'all' if group_size < 0 else group_size}",
                    "weight_stat", up_ws, False,
                    {"group_size": group_size, "amax_clamp_branch_taken": fired},
                    {"weight": w}, {"w": out}))

    # Upstream's absmax clamp is all or nothing (awq.py lines 150-153): a row of
    # absmax ~1e-6 is clamped to 1e-4 only when some row (group) absmax is exactly 0.
    tiny_variants = [(-1, None), (-1, "row"), (8, None), (8, "row"), (8, "group")]
    for dname, dt in DTYPES.items():
        for ti, (group_size, zero) in enumerate(tiny_variants):
            g = gen(150 + ti)
            w = randn(g, 6, 16)
            w[3] = randn(g, 16) * 1e-6                 # the tiny row
            w[3, 0], w[3, 8] = 3e-6, -2e-6             # each of its groups non-zero in every dtype
            if zero == "row":
                w[4, :] = 0.0
            elif zero == "group":
                w[4, 8:] = 0.0                         # one zero group, no zero row
            w = w.to(dt)
            tiny = w[3].abs().view(-1, 16 if group_size < 0 else group_size).amax(1)
            assert bool(((tiny > 0) & (tiny < 1e-4)).all()), (dname, tiny)
            out, printed = _quiet(awq.get_weight_scale, w.clone(), group_size)
            fired = "clamping" in printed
            assert fired == (zero is not None), (dname, group_size, zero, printed)
            cases.append(case(
                f"lmdeploy_weight_stat_{SHORT[dname]}_tiny_row_{'no_zero_row' if zero is None else 'zero_' + zero}"
                f"_g{'all' if group_size < 0 else group_size}",
                "weight_stat", up_ws, False,
                {"group_size": group_size, "amax_clamp_branch_taken": fired},
                {"weight": w}, {"w": out}))

    # --- smooth_ln_fcs ------------------------------------------------------
    def ln_inputs(seed, dt, C=32, outs=(8, 4, 4), zero_col=True, act_dtype=None):
        g = gen(seed)
        act = rand(g, C, lo=0.05, hi=4.0)
        act[5] *= 100.0                               # outlier channel
        act[9] = 0.0                                  # zero activation channel
        act[11] = 0.3333333                           # rounds in f16/bf16
        norm = rand(g, C, lo=0.2, hi=1.5)
        norm[13] = 0.0                                # norm weight zero channel
        fcs = []
        for i, o in enumerate(outs):
            w = randn(g, o, C) * 0.05
            w[i % o, 17] *= 100.0                     # outlier weight
            if zero_col:
                w[:, 21] = 0.0                        # zero column in every fc -> w_21 = 0
            fcs.append(w.to(dt))
        return act.to(act_dtype or dt), norm.to(dt), fcs

    ln_variants = [
        ("mixed_a050", dict(alpha=0.5, group_size=-1), {}),
        ("mixed_a085", dict(alpha=0.85, group_size=-1), {}),
        ("no_zero_col_a050", dict(alpha=0.5, group_size=-1), dict(zero_col=False, outs=(8, 8))),
        ("mixed_g8_a050", dict(alpha=0.5, group_size=8), {}),
    ]
    for dname, dt in DTYPES.items():
        for vi, (vname, params, kw) in enumerate(ln_variants):
            act, norm, fcs = ln_inputs(200 + vi, dt, **kw)
            cases.append(_lmdeploy_ln_case(awq, up_ln, f"lmdeploy_smooth_ln_fcs_{SHORT[dname]}_{vname}",
                                           act, norm, fcs, params))
    # act_scales kept in float32 while the model is f16: upstream casts them to the fc dtype.
    act, norm, fcs = ln_inputs(210, torch.float16, act_dtype=torch.float32)
    cases.append(_lmdeploy_ln_case(awq, up_ln, "lmdeploy_smooth_ln_fcs_f16_f32_act_scales_a050",
                                   act, norm, fcs, dict(alpha=0.5, group_size=-1)))
    # f16 overflow of max(s) * min(s) on the norm path: every s large.
    g = gen(220)
    C = 16
    act = rand(g, C, lo=3.0e4, hi=6.0e4).to(torch.float16)
    norm = rand(g, C, lo=0.5, hi=1.0).to(torch.float16)
    fcs = [(randn(g, 8, C) * 1e-3).to(torch.float16)]
    fcs[0][:, 0] = 1.0e-3
    fcs[0][0, 0] = 1.0            # channel 0 has w_0 = mean(|W|/rowmax) large -> s_0 the smallest
    cases.append(_lmdeploy_ln_case(awq, up_ln, "lmdeploy_smooth_ln_fcs_f16_maxmin_overflow_a050",
                                   act, norm, fcs, dict(alpha=0.5, group_size=-1)))
    # Upstream's w^(1-α) clamp is all or nothing (awq.py lines 187-191): channel 25
    # has 0 < w^(1-α) < 1e-4, clamped to 1e-4 only beside the zero column 21.
    # Its w is one ratio of one row over the 16 rows: w = ratio / 16. α = 0.5 needs
    # w ~ 1e-10, which fp16 cannot hold (its w would be a subnormal a few ulps wide,
    # or 0), so fp16 takes α = 0 (w' = w) with w = 8e-5, a normal fp16 value.
    tiny_col = 25
    for dname, dt in DTYPES.items():
        alpha, w_target = (0.0, 8e-5) if dt == torch.float16 else (0.5, 1e-10)
        for zero_col in (True, False):
            act, norm, fcs = ln_inputs(230, dt, zero_col=zero_col)
            act = act.clone()
            act[tiny_col] = 0.05                      # keeps a^α / w' inside fp16's range
            tiny_fcs = []
            for i, w in enumerate(fcs):
                w = w.to(torch.float32)               # exact
                w[:, tiny_col] = 0.0
                if i == 0:
                    w[1, tiny_col] = w[1].abs().max() * (w_target * 16)
                tiny_fcs.append(w.to(dt))
            w_pow = _quiet(awq.get_weight_scale, torch.cat(tiny_fcs, dim=0), -1)[0].pow(1 - alpha)
            assert 0 < float(w_pow[tiny_col]) < 1e-4, (dname, float(w_pow[tiny_col]))
            assert (float(w_pow.min()) == 0) == zero_col
            c = _lmdeploy_ln_case(awq, up_ln,
                                  f"lmdeploy_smooth_ln_fcs_{SHORT[dname]}_tiny_w_pow"
                                  f"{'_zero_col' if zero_col else ''}_a{int(alpha * 100):03d}",
                                  act, norm, tiny_fcs, dict(alpha=alpha, group_size=-1))
            assert c["params"]["w_pow_clamp_branch_taken"] == zero_col
            assert not c["params"]["amax_clamp_branch_taken"]
            s_up = tensor_from_json(c["outputs"]["s"])
            assert bool(torch.isfinite(s_up).all() & (s_up > 0).all()), (dname, s_up)
            cases.append(c)

    # --- smooth_fc_fcs ------------------------------------------------------
    def fc_inputs(seed, dt, C=16, K=12, outs=(8,), zero_col=False, packed=1, big=False):
        g = gen(seed)
        act = rand(g, C, lo=0.05, hi=4.0)
        act[3] *= 100.0
        act[6] = 0.0
        if big:
            act = rand(g, C, lo=3.0e4, hi=6.0e4)
        prev_w = randn(g, packed * C, K) * 0.1
        prev_b = randn(g, packed * C) * 0.1
        fcs = []
        for o in outs:
            w = randn(g, o, C) * 0.05
            w[0, 2] *= 100.0
            if zero_col:
                w[:, 9] = 0.0
            if big:
                w = w * 1e-2
            fcs.append(w.to(dt))
        return act.to(dt), prev_w.to(dt), prev_b.to(dt), fcs

    fc_variants = [
        ("plain_a050", dict(alpha=0.5, group_size=-1), {}),
        ("zero_col_two_fcs_a050", dict(alpha=0.5, group_size=-1), dict(zero_col=True, outs=(8, 4))),
        ("plain_a085", dict(alpha=0.85, group_size=-1), {}),
    ]
    for dname, dt in DTYPES.items():
        for vi, (vname, params, kw) in enumerate(fc_variants):
            act, pw, pb, fcs = fc_inputs(300 + vi, dt, **kw)
            cases.append(_lmdeploy_fc_case(awq, up_fc, f"lmdeploy_smooth_fc_fcs_{SHORT[dname]}_{vname}",
                                           act, pw, pb, fcs, params))
    # packed QKV (pre_fc out = 3 * C): upstream divides only the last C rows and bias entries.
    act, pw, pb, fcs = fc_inputs(310, torch.float16, packed=3)
    cases.append(_lmdeploy_fc_case(awq, up_fc, "lmdeploy_smooth_fc_fcs_f16_packed_qkv_a050",
                                   act, pw, pb, fcs, dict(alpha=0.5, group_size=-1)))
    # large scales in f16: the fc path forms max*min in float32, so no overflow here.
    act, pw, pb, fcs = fc_inputs(311, torch.float16, big=True)
    cases.append(_lmdeploy_fc_case(awq, up_fc, "lmdeploy_smooth_fc_fcs_f16_large_scales_a050",
                                   act, pw, pb, fcs, dict(alpha=0.5, group_size=-1)))

    # --- quantize_weight (QLinear.from_float) --------------------------------
    for dname, dt in DTYPES.items():
        w = _weight_quant_inputs(400, dt, absmax_tie_row=127.0, half_tie_row=63.5)
        lin = _linear(w)
        q = QLinear.from_float(lin, quant_dtype=torch.int8)
        assert q.weight.dtype == torch.int8 and q.scale.dtype == torch.float32
        cases.append(case(f"lmdeploy_quantize_weight_{SHORT[dname]}", "quantize_weight", up_ql, False,
                          {"scale_dtype": "float32"}, {"weight": w},
                          {"q": q.weight, "scale": q.scale}))
    # Zero row kept apart: upstream divides 0 by 0 there (scale 0, NaN quotient,
    # NaN -> int8 cast is undefined behaviour; torch on x86 gives the value recorded).
    w = torch.tensor([[0.0] * 8, [1.0, -2.0, 3.5, 0.25, -127.0, 5.0, 6.0, 7.0]], dtype=torch.float32)
    q = QLinear.from_float(_linear(w), quant_dtype=torch.int8)
    cases.append(case("lmdeploy_quantize_weight_f32_zero_row", "quantize_weight", up_ql, False,
                      {"scale_dtype": "float32", "zero_row_codes_are_undefined_behaviour": True},
                      {"weight": w}, {"q": q.weight, "scale": q.scale}))

    # --- Triton kernels through the interpreter -----------------------------
    cases += lmdeploy_triton_cases(v)
    return cases


def _lmdeploy_ln_case(awq, upstream, name, act, norm, fcs, params):
    ln = _NormLike(norm)
    mods = [_linear(w) for w in fcs]
    s, printed = _quiet(awq.smooth_ln_fcs, ln, mods, act.clone(), params["group_size"], params["alpha"])
    p = dict(params)
    p["w_pow_clamp_branch_taken"] = "pow(1 - alpha).min is zero" in printed
    p["amax_clamp_branch_taken"] = "weight.amax.min is zero" in printed
    inputs = {"act_scales": act, "norm_weight": norm}
    outputs = {"s": s, "norm_weight": ln.weight.data}
    for i, (w, m) in enumerate(zip(fcs, mods)):
        inputs[f"fc{i}"] = w
        outputs[f"fc{i}"] = m.weight.data
    return case(name, "smooth_ln_fcs", upstream, False, p, inputs, outputs)


def _lmdeploy_fc_case(awq, upstream, name, act, prev_w, prev_b, fcs, params):
    prev = _linear(prev_w, prev_b)
    mods = [_linear(w) for w in fcs]
    s, printed = _quiet(awq.smooth_fc_fcs, prev, mods, act.clone(), params["group_size"], params["alpha"])
    assert s is not None
    p = dict(params)
    p["w_pow_clamp_branch_taken"] = "pow(1 - alpha).min is zero" in printed
    p["amax_clamp_branch_taken"] = "weight.amax.min is zero" in printed
    inputs = {"act_scales": act, "prev_weight": prev_w, "prev_bias": prev_b}
    outputs = {"s": s, "prev_weight": prev.weight.data, "prev_bias": prev.bias.data}
    for i, (w, m) in enumerate(zip(fcs, mods)):
        inputs[f"fc{i}"] = w
        outputs[f"fc{i}"] = m.weight.data
    return case(name, "smooth_fc_fcs", upstream, False, p, inputs, outputs)


def _weight_quant_inputs(seed, dt, absmax_tie_row, half_tie_row):
    """[6, 16] weights: random rows, an outlier row, and two rows built so that
    w / scale lands exactly on k + 0.5 (absmax chosen so the scale is 1.0 or 0.5)."""
    g = gen(seed)
    w = randn(g, 6, 16)
    w[1, 4] *= 100.0                                              # outlier row
    w[2] = torch.tensor([absmax_tie_row, 2.5, -2.5, 0.5, -0.5, 1.5, 3.5, -7.5,
                         126.5, -126.5, 0.0, 10.5, 11.5, -0.25, 4.0, 64.5])
    h = half_tie_row                                              # scale 0.5
    w[3] = torch.tensor([h, 1.25, -1.25, 0.25, -0.75, 2.75, 0.5, -3.25,
                         5.25, 6.25, -6.75, 0.0, 31.25, -31.75, 1.0, -h])
    w[5, 3] = 0.3333333                                           # rounds in f16/bf16
    return w.to(dt)


class _InterpreterRound:
    """Stand-in for libdevice round (__nv_roundf) inside Triton's interpreter.

    lmdeploy binds `tl_round = tl.extra.cuda.libdevice.round` at module level;
    the interpreter cannot run libdevice externs (extern_elementwise raises in
    interpreter mode, and the module-level alias is not patched). CUDA's
    roundf rounds half away from zero; this computes that exactly on the
    interpreter's numpy data: trunc(x) plus sign(x) when |x - trunc(x)| >= 0.5
    (x - trunc(x) is exact in binary floating point).
    """

    def __call__(self, x, _semantic=None):
        import triton.language as tl
        from triton.runtime.interpreter import TensorHandle
        d = x.handle.data
        t = np.trunc(d)
        frac = d - t
        r = np.where(np.abs(frac) >= 0.5, t + np.sign(d), t).astype(d.dtype)
        return tl.tensor(TensorHandle(r, x.handle.dtype.scalar), x.type)


@contextlib.contextmanager
def _interpreter_patches():
    """Patch Triton's interpreter where it departs from the GPU (see README)."""
    import triton.language as tl
    from triton.runtime import interpreter as interp
    from lmdeploy.pytorch.kernels.cuda import w8a8_triton_kernels as k

    old_round = k.tl_round
    k.tl_round = _InterpreterRound()

    # The interpreter's float32 -> bfloat16 cast (cast_impl -> _convert_float
    # with no rounding mode) truncates; the GPU's cvt.rn.bf16.f32 rounds to
    # nearest even. Route that one cast through torch (round to nearest even).
    builder_cls = type(interp.interpreter_builder)
    old_cast = builder_cls.cast_impl

    def cast_impl(self, src, dst_type):
        if src.dtype.scalar == tl.float32 and dst_type.scalar == tl.bfloat16:
            t = torch.from_numpy(np.ascontiguousarray(src.data).astype(np.float32)).to(torch.bfloat16)
            data = t.view(torch.int16).numpy().view(np.uint16)
            return interp.TensorHandle(data, dst_type.scalar)
        return old_cast(self, src, dst_type)

    builder_cls.cast_impl = cast_impl
    try:
        yield
    finally:
        k.tl_round = old_round
        builder_cls.cast_impl = old_cast


def _round_away_np(v):
    t = np.trunc(v)
    return np.where(np.abs(v - t) >= 0.5, t + np.sign(v), t)


def _check_per_token(x, eps, q, s):
    """Independent IEEE float32 recomputation of the interpreted kernel."""
    xf = x.to(torch.float32).numpy()
    a = np.maximum(np.abs(xf).max(axis=1, keepdims=True), np.float32(eps)).astype(np.float32)
    sc = (a / np.float32(127)).astype(np.float32)
    qq = _round_away_np((xf / sc).astype(np.float32)).astype(np.int8)
    assert np.array_equal(qq, q.numpy()) and np.array_equal(sc.view(np.uint32), s.numpy().view(np.uint32))


def _check_rms(x, w, eps, q, s):
    """Independent IEEE float32 recomputation (numpy sqrt is correctly rounded)."""
    xf = x.to(torch.float32).numpy()
    n = xf.shape[1]
    var = (np.sum(xf * xf, axis=1, keepdims=True, dtype=np.float32) * np.float32(1.0 / n)).astype(np.float32)
    r = (np.float32(1) / np.sqrt((var + np.float32(eps)).astype(np.float32))).astype(np.float32)
    y32 = (w.to(torch.float32).numpy()[None, :] * (xf * r)).astype(np.float32)
    y = torch.from_numpy(y32).to(x.dtype).to(torch.float32).numpy()
    sc = (np.abs(y).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    qq = np.clip(_round_away_np((y / sc).astype(np.float32)), -128, 127).astype(np.int8)
    assert np.array_equal(qq, q.numpy()) and np.array_equal(sc.view(np.uint32), s.numpy().view(np.uint32))


def lmdeploy_triton_cases(v):
    from lmdeploy.pytorch.kernels.cuda.w8a8_triton_kernels import per_token_quant_int8, rms_norm_dynamic_quant

    path = "lmdeploy/pytorch/kernels/cuda/w8a8_triton_kernels.py"
    up_pt = (f"lmdeploy {v}, {path}, per_token_quant_int8 (_per_token_quant_int8) run by Triton's "
             f"interpreter; libdevice round replaced by an exact half-away-from-zero round")
    up_rms = (f"lmdeploy {v}, {path}, rms_norm_dynamic_quant (rms_norm_quant_kernel) run by Triton's "
              f"interpreter; libdevice round replaced by an exact half-away-from-zero round; "
              f"f32->bf16 cast rounds to nearest even")
    cases = []
    with _interpreter_patches():
        # sanity: the stand-in round on ties
        x = torch.tensor([[127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -1.49999988, 126.5]])
        q, s = per_token_quant_int8(x, 1e-7)
        assert q.tolist() == [[127, 3, -3, 1, -1, 2, -1, 127]], q

        for dname, dt in DTYPES.items():
            for C in (32, 20):                          # 20: masked lanes (BLOCK 32)
                g = gen(500 + C)
                x = randn(g, 6, C)
                x[1, 3] *= 100.0                        # outlier
                x[2, :] = 0.0                           # zero row: absmax clamps to eps
                # row 3: absmax 127 -> scale 1.0, ties k + 0.5 away from zero
                x[3, :8] = torch.tensor([127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5, 3.5])
                # row 4: absmax 63.5 -> scale 0.5, quotients k + 0.5
                x[4, :8] = torch.tensor([63.5, 1.25, -1.25, 0.25, -0.75, 2.75, 31.25, -31.75])
                x[4, 8:] = x[4, 8:].clamp(-60, 60)
                x[3, 8:] = x[3, 8:].clamp(-120, 120)
                x[5, 0] = 0.3333333
                x = x.to(dt)
                q, s = per_token_quant_int8(x.clone(), 1e-7)
                _check_per_token(x, 1e-7, q, s)
                cases.append(case(f"lmdeploy_quantize_per_token_{SHORT[dname]}_c{C}", "quantize_per_token",
                                  up_pt, False, {"eps": 1e-7}, {"x": x}, {"q": q, "scale": s}))

        for dname, dt in DTYPES.items():
            for C in (16, 24):                          # 24: masked lanes (BLOCK 32)
                g = gen(600 + C)
                # Small dyadic inputs: x*x and its float32 sums are exact in any
                # order, so the variance does not depend on the reduction order.
                x = torch.randint(-16, 17, (5, C), generator=g).float() / 8.0
                x[1, 2] = 12.0                          # outlier-ish
                x[2, :] = 0.25
                x[3, 0] = -15.875
                x[4, :] = torch.randint(-127, 128, (C,), generator=g).float() / 16.0
                w = rand(g, C, lo=0.25, hi=2.0)
                w[5] = 0.3333333
                x = x.to(dt)
                w = w.to(dt)
                eps = 1e-6
                q, s = rms_norm_dynamic_quant(x.clone(), w.clone(), eps, quant_dtype=torch.int8)
                _check_rms(x, w, eps, q, s)
                cases.append(case(f"lmdeploy_rmsnorm_quantize_{SHORT[dname]}_c{C}", "rmsnorm_quantize",
                                  up_rms, False, {"eps": eps}, {"x": x, "norm_weight": w},
                                  {"q": q, "scale": s}))
    return cases


# ----------------------------------------------------------------------------
# compressed-tensors
# ----------------------------------------------------------------------------

def compressed_tensors_cases(versions):
    from compressed_tensors.quantization import QuantizationArgs
    from compressed_tensors.quantization.lifecycle.forward import quantize
    from compressed_tensors.quantization.utils.helpers import calculate_qparams

    v = versions["compressed-tensors"]
    up = (f"compressed-tensors {v}, compressed_tensors/quantization/utils/helpers.py calculate_qparams + "
          f"compressed_tensors/quantization/lifecycle/forward.py quantize")
    args = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel")
    cases = []
    for dname, dt in DTYPES.items():
        for variant in ("ties", "zero_row"):
            w = _weight_quant_inputs(700, dt, absmax_tie_row=127.5, half_tie_row=63.75)
            if variant == "zero_row":
                w[0] = 0.0
                w[4, :8] = torch.tensor([1e-30, -1e-30, 0, 0, 0, 0, 0, 0]).to(dt)  # tiny row (bf16/f32)
                w[4, 8:] = 0
            min_vals = torch.amin(w, dim=1, keepdim=True)
            max_vals = torch.amax(w, dim=1, keepdim=True)
            scale, zp = calculate_qparams(min_vals, max_vals, args)
            q = quantize(w, scale, zp, args, dtype=torch.int8)
            assert q.dtype == torch.int8 and scale.dtype == dt, (q.dtype, scale.dtype)
            assert int(zp.abs().max()) == 0
            cases.append(case(f"compressed_tensors_quantize_weight_{SHORT[dname]}_{variant}", "quantize_weight",
                              up, False,
                              {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel",
                               "scale_dtype": dname, "zero_point_dtype": str(zp.dtype).replace("torch.", "")},
                              {"weight": w}, {"q": q, "scale": scale}))
    return cases


# ----------------------------------------------------------------------------
# llm-compressor
# ----------------------------------------------------------------------------

def llmcompressor_cases(versions):
    from llmcompressor.modifiers.transform.smoothquant import base as sqbase
    from llmcompressor.modifiers.transform.smoothquant.base import (
        SmoothQuantMapping, SmoothQuantModifier, SmoothQuantScale)

    v = versions["llmcompressor"]
    up = (f"llmcompressor {v}, llmcompressor/modifiers/transform/smoothquant/base.py, "
          f"SmoothQuantModifier._apply_smoothing (+ _calculate_smoothing_scales)")
    cases = []
    variants = [("mixed_a050", 0.5), ("mixed_a085", 0.85)]
    for dname, dt in DTYPES.items():
        for vi, (vname, alpha) in enumerate(variants):
            g = gen(800 + vi)
            C = 32
            amax = rand(g, C, lo=0.05, hi=4.0)
            amin = -rand(g, C, lo=0.05, hi=4.0)
            amax[5] *= 100.0                              # outlier channel
            amin[9] = 0.0
            amax[9] = 0.0                                 # zero-range channel -> s = max(0, 1e-5)
            amax[11] = 0.3333333
            norm = rand(g, C, lo=0.2, hi=1.5)
            norm[13] = 0.0
            fcs = []
            for i, o in enumerate((8, 4, 4)):
                w = randn(g, o, C) * 0.05
                w[i, 17] *= 100.0
                w[:, 21] = 0.0                            # zero column -> weight_scales 0 -> s = range
                fcs.append(w.to(dt))
            amin, amax, norm = amin.to(dt), amax.to(dt), norm.to(dt)

            smooth_layer = _NormLike(norm)
            balance = [_linear(w) for w in fcs]
            mod = SmoothQuantModifier(smoothing_strength=alpha)
            mod.resolved_mappings_ = [SmoothQuantMapping("norm", smooth_layer, balance)]
            mod.scales_ = {"norm": SmoothQuantScale(min_channel_vals=amin.clone(), max_channel_vals=amax.clone())}
            act_scales = amax - amin                       # as _apply_smoothing forms it (model dtype)
            # The scale _apply_smoothing uses: upstream's _calculate_smoothing_scales,
            # then the floor it applies at base.py _apply_smoothing (torch.maximum with a
            # float32 tensor of MINIMUM_SMOOTHING_SCALE).
            raw = mod._calculate_smoothing_scales(balance, act_scales)
            s = torch.maximum(raw, torch.Tensor([sqbase.MINIMUM_SMOOTHING_SCALE]).to(raw.device))
            mod._apply_smoothing(torch.nn.Module())
            # Consistency: what upstream wrote equals the recorded s applied once.
            assert same_bits(smooth_layer.weight.data, (norm / s).to(dt))
            for w, m in zip(fcs, balance):
                assert same_bits(m.weight.data, (w * s.view(1, -1)).to(dt))
            inputs = {"act_scales": act_scales, "act_min": amin, "act_max": amax, "norm_weight": norm}
            outputs = {"s": s, "norm_weight": smooth_layer.weight.data}
            for i, (w, m) in enumerate(zip(fcs, balance)):
                inputs[f"fc{i}"] = w
                outputs[f"fc{i}"] = m.weight.data
            cases.append(case(f"llmcompressor_smooth_ln_fcs_{SHORT[dname]}_{vname}", "smooth_ln_fcs", up, False,
                              {"alpha": alpha, "s_dtype": str(s.dtype).replace("torch.", "")},
                              inputs, outputs))
    return cases


# ----------------------------------------------------------------------------
# SmoothQuant authors (PORT)
# ----------------------------------------------------------------------------

def smoothquant_port_ln_fcs(norm_weight, fc_weights, act_scales, alpha):
    """PORT of mit-han-lab/smoothquant, smoothquant/smooth.py,
    smooth_ln_fcs_llama_like (lines 48-71 at commit c61476d7), written anew.

    In the fc dtype: w_j = max over all fcs' rows of |W[r, j]|, floored at 1e-5;
    s = (a^alpha / w^(1 - alpha)) floored at 1e-5; the norm weight is divided by
    s in place and every fc's column j multiplied by s_j in place.
    """
    dt = fc_weights[0].dtype
    a = act_scales.to(dtype=dt)
    per_fc = [w.abs().amax(dim=0, keepdim=True) for w in fc_weights]
    w = torch.cat(per_fc, dim=0).amax(dim=0).clamp(min=1e-5)
    s = (a.pow(alpha) / w.pow(1 - alpha)).clamp(min=1e-5).to(dt)
    new_norm = norm_weight.clone()
    new_norm.div_(s)
    new_fcs = []
    for fw in fc_weights:
        nw = fw.clone()
        nw.mul_(s.view(1, -1))
        new_fcs.append(nw)
    return s, new_norm, new_fcs


def smoothquant_authors_cases():
    up = ("mit-han-lab/smoothquant (GitHub, commit c61476d728e42ae0d8a35e7e78494edcac3237b5), "
          "smoothquant/smooth.py, smooth_ln_fcs_llama_like (PORT)")
    cases = []
    for dname, dt in DTYPES.items():
        for vi, alpha in enumerate((0.5, 0.85)):
            g = gen(900 + vi)
            C = 32
            act = rand(g, C, lo=0.05, hi=4.0)
            act[5] *= 100.0
            act[9] = 0.0
            act[11] = 0.3333333
            norm = rand(g, C, lo=0.2, hi=1.5)
            norm[13] = 0.0
            fcs = []
            for i, o in enumerate((8, 4, 4)):
                w = randn(g, o, C) * 0.05
                w[i, 17] *= 100.0
                w[:, 21] = 0.0                     # w_21 = 0 -> floored at 1e-5
                fcs.append(w.to(dt))
            act, norm = act.to(dt), norm.to(dt)
            s, new_norm, new_fcs = smoothquant_port_ln_fcs(norm, fcs, act, alpha)
            inputs = {"act_scales": act, "norm_weight": norm}
            outputs = {"s": s, "norm_weight": new_norm}
            for i, (w, nw) in enumerate(zip(fcs, new_fcs)):
                inputs[f"fc{i}"] = w
                outputs[f"fc{i}"] = nw
            cases.append(case(f"smoothquant_authors_smooth_ln_fcs_{SHORT[dname]}_a{int(alpha * 100):03d}",
                              "smooth_ln_fcs", up, True, {"alpha": alpha}, inputs, outputs))
    return cases


# ----------------------------------------------------------------------------
# vLLM (PORTS)
# ----------------------------------------------------------------------------

VLLM_COMMIT = "fc4a42832215fcd219b0ab0d4b5b99e41baf8d45"
VLLM_EPI_COMMIT = "8339cb98f3d632e1ff5e21ffbfc0fa36ce24cf2f"


def vllm_port_per_token_quant(x):
    """PORT of vLLM csrc/quantization/compressed_tensors/int8_quant_kernels.cu
    (commit fc4a4283): dynamic_scaled_int8_quant_kernel (lines 151-187) and
    float_to_int8_rn (lines 17-45, CUDA branch: cvt.rni.sat.s8.f32), written anew.

    Per row, in float32: absmax by fmaxf from 0 (fmaxf drops NaN operands);
    scale = absmax / 127 (IEEE division); inv = 0 when absmax == 0 else
    127 / absmax; q = cvt.rni.sat(x * inv): round half to even, saturate to
    [-128, 127], NaN -> 0.
    """
    xf = x.to(torch.float32).numpy()
    T, C = xf.shape
    q = np.zeros((T, C), dtype=np.int8)
    scale = np.zeros((T,), dtype=np.float32)
    for t in range(T):
        m = np.float32(0.0)
        for v in np.abs(xf[t]):
            m = np.fmax(m, v)                       # fmaxf: a NaN operand is ignored
        m = np.float32(m)
        scale[t] = np.float32(m / np.float32(127.0))
        inv = np.float32(0.0) if m == 0 else np.float32(np.float32(127.0) / m)
        with np.errstate(invalid="ignore", over="ignore"):
            prod = (xf[t] * inv).astype(np.float32)
        r = np.rint(prod)                            # half to even
        r = np.where(np.isnan(r), 0.0, r)
        r = np.clip(r, -128.0, 127.0)
        q[t] = r.astype(np.int8)
    return torch.from_numpy(q), torch.from_numpy(scale).view(T, 1)


def vllm_port_gemm(a, b, scale_a, scale_b, bias, out_dtype):
    """PORT of vLLM's CUTLASS 3.x W8A8 epilogue with bias,
    csrc/cutlass_extensions/epilogue/scaled_mm_epilogues_c3x.hpp (commit 8339cb98),
    ScaledEpilogueBias (line 164 on): Compute0 = multiplies<float>(scale_b, acc)
    (lines 173-178), Compute1 = multiply_add<ElementD, float>(scale_a, that, bias)
    (lines 180-186), the bias loaded in ElementD (line 171). Written anew.

    acc = exact int32 dot product; t = rn32(scale_b[n] * rn32(acc));
    d = rn32(scale_a[m] * t + float(bias[n])) with ONE rounding (fused
    multiply-add, computed exactly with Fractions); out = rn_D(d).
    Returns (fused, unfused) outputs; unfused rounds the product first.
    """
    acc = (a.to(torch.int64) @ b.to(torch.int64).T)
    assert acc.abs().max() < 2 ** 31
    M, N = acc.shape
    fused = np.zeros((M, N), dtype=np.float32)
    unfused = np.zeros((M, N), dtype=np.float32)
    bias_f = bias.to(torch.float32)
    for m in range(M):
        for n in range(N):
            accf = round_fraction_to_f32(Fraction(int(acc[m, n])))
            t = round_fraction_to_f32(Fraction(float(scale_b[n])) * Fraction(accf))
            sa = Fraction(float(scale_a[m]))
            c = Fraction(float(bias_f[n]))
            fused[m, n] = round_fraction_to_f32(sa * Fraction(t) + c)
            p = round_fraction_to_f32(sa * Fraction(t))
            unfused[m, n] = round_fraction_to_f32(Fraction(p) + c)
    return (torch.from_numpy(fused).to(out_dtype), torch.from_numpy(unfused).to(out_dtype), acc.to(torch.int32))


def vllm_cases():
    up_q = (f"vLLM (GitHub, commit {VLLM_COMMIT}), csrc/quantization/compressed_tensors/int8_quant_kernels.cu, "
            f"dynamic_scaled_int8_quant_kernel + float_to_int8_rn (PORT)")
    up_g = (f"vLLM (GitHub, commit {VLLM_EPI_COMMIT}), csrc/cutlass_extensions/epilogue/"
            f"scaled_mm_epilogues_c3x.hpp, ScaledEpilogueBias (PORT)")
    cases = []
    # sanity of the quantiser port on hand-made rows
    qs, ss = vllm_port_per_token_quant(torch.tensor([[127.0, 2.5, -2.5, 0.5, -0.5, 1.5, 3.5, -126.5]]))
    assert qs.tolist() == [[127, 2, -2, 0, 0, 2, 4, -126]], qs

    for dname, dt in DTYPES.items():
        g = gen(1000)
        C = 24
        x = randn(g, 8, C)
        x[1, 3] *= 100.0                                   # outlier
        x[2, :] = 0.0                                      # zero row: inv 0, scale 0
        x[3, :8] = torch.tensor([127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5, 3.5])   # ties, scale 1
        x[3, 8:] = x[3, 8:].clamp(-120, 120)
        x[4, :8] = torch.tensor([63.5, 1.25, -1.25, 0.25, -0.75, 2.75, 31.25, -31.75])
        x[4, 8:] = x[4, 8:].clamp(-60, 60)
        x[5, 4] = float("nan")                             # NaN ignored by absmax, its code 0
        x[6, 7] = float("inf")                             # absmax inf: inv 0, inf*0 = NaN -> 0 for all
        x[7, :] = float("nan")                             # all NaN: absmax 0, codes 0
        x = x.to(dt)
        q, s = vllm_port_per_token_quant(x)
        cases.append(case(f"vllm_quantize_per_token_{SHORT[dname]}", "quantize_per_token", up_q, True,
                          {"reciprocal": "127/absmax, 0 when absmax == 0", "rounding": "half_even_saturate"},
                          {"x": x}, {"q": q, "scale": s}))
    # -inf row on its own (f32)
    x = torch.tensor([[1.0, -float("inf"), 3.0, 0.5], [1e-30, -2e-30, 3e-30, 0.0]], dtype=torch.float32)
    q, s = vllm_port_per_token_quant(x)
    cases.append(case("vllm_quantize_per_token_f32_neg_inf_and_tiny", "quantize_per_token", up_q, True,
                      {"reciprocal": "127/absmax, 0 when absmax == 0", "rounding": "half_even_saturate"},
                      {"x": x}, {"q": q, "scale": s}))

    # GEMM epilogue
    for dname, dt in DTYPES.items():
        # random case
        g = gen(1100)
        M, N, K = 4, 6, 32
        a = torch.randint(-128, 128, (M, K), generator=g, dtype=torch.int32).to(torch.int8)
        b = torch.randint(-128, 128, (N, K), generator=g, dtype=torch.int32).to(torch.int8)
        sa = rand(g, M, lo=1e-3, hi=2e-2)
        sb = rand(g, N, lo=1e-3, hi=2e-2)
        bias = (randn(g, N) * 4.0).to(dt)
        out, out_unf, _ = vllm_port_gemm(a, b, sa, sb, bias, dt)
        ndiff = int((~_bit_eq(out, out_unf)).sum())
        cases.append(case(f"vllm_gemm_w8a8_{SHORT[dname]}_random", "gemm_w8a8", up_g, True,
                          {"epilogue": "fma(scale_a, scale_b*acc, bias) one rounding to f32, then to out dtype",
                           "elements_where_unfused_differs": ndiff},
                          {"a": a, "b": b, "scale_a": sa, "scale_b": sb, "bias": bias}, {"out": out}))
        # searched case: every row/column drawn until fused != unfused in the output dtype
        g = gen(1200)
        found = None
        for attempt in range(4000):
            M, N, K = 2, 4, 16
            a = torch.randint(-128, 128, (M, K), generator=g, dtype=torch.int32).to(torch.int8)
            b = torch.randint(-128, 128, (N, K), generator=g, dtype=torch.int32).to(torch.int8)
            sa = rand(g, M, lo=1e-3, hi=2e-2)
            sb = rand(g, N, lo=1e-3, hi=2e-2)
            acc = (a.to(torch.int64) @ b.to(torch.int64).T).to(torch.float32)
            # bias close to -scale_a*scale_b*acc: heavy cancellation exposes the product's rounding
            approx = -(sa.view(-1, 1) * sb.view(1, -1) * acc)[0]
            bias = (approx * (1.0 + rand(g, N, lo=-1e-3, hi=1e-3))).to(dt)
            out, out_unf, _ = vllm_port_gemm(a, b, sa, sb, bias, dt)
            ndiff = int((~_bit_eq(out, out_unf)).sum())
            if ndiff >= 2:
                found = (a, b, sa, sb, bias, out, ndiff, attempt)
                break
        assert found is not None, dname
        a, b, sa, sb, bias, out, ndiff, attempt = found
        cases.append(case(f"vllm_gemm_w8a8_{SHORT[dname]}_fused_differs", "gemm_w8a8", up_g, True,
                          {"epilogue": "fma(scale_a, scale_b*acc, bias) one rounding to f32, then to out dtype",
                           "elements_where_unfused_differs": ndiff, "search_attempts": attempt + 1},
                          {"a": a, "b": b, "scale_a": sa, "scale_b": sb, "bias": bias}, {"out": out}))
    return cases


def _bit_eq(x, y):
    if x.dtype == torch.float32:
        return x.view(torch.int32) == y.view(torch.int32)
    return x.view(torch.int16) == y.view(torch.int16)


# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------

def _versions():
    names = ["torch", "triton", "numpy", "lmdeploy", "compressed-tensors", "llmcompressor", "transformers"]
    out = {"python": platform.python_version()}
    for n in names:
        out[n] = metadata.version(n)
    out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    out["libc"] = " ".join(platform.libc_ver())
    return out


def _write(fname, versions, keys, cases):
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {"generator": GENERATOR, "packages": {k: versions[k] for k in keys}, "cases": cases}
    path = os.path.join(OUT_DIR, fname)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    # Round trip: reload, rebuild every tensor, re-encode, compare.
    with open(path) as f:
        back = json.load(f)
    assert back["cases"] == cases
    for c in back["cases"]:
        for group in ("inputs", "outputs"):
            for tj in c[group].values():
                t = tensor_from_json(tj)
                assert tensor_json(t) == tj
    print(f"wrote {path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


def main():
    _self_test_rounding()
    _self_test_torch_casts()
    torch.set_num_threads(1)      # one thread: reductions in one fixed order
    os.makedirs(OUT_DIR, exist_ok=True)
    versions = _versions()
    base = ["python", "torch", "torch_cpu_capability", "libc", "numpy"]

    _write("lmdeploy.json", versions, base + ["triton", "lmdeploy"], lmdeploy_cases(versions))
    _write("compressed_tensors.json", versions, base + ["compressed-tensors"], compressed_tensors_cases(versions))
    _write("llmcompressor.json", versions, base + ["llmcompressor", "compressed-tensors"],
           llmcompressor_cases(versions))
    _write("smoothquant_authors.json", versions, base, smoothquant_authors_cases())
    _write("vllm.json", versions, ["python", "numpy", "torch"], vllm_cases())
    assert versions["torch_cpu_capability"] == "DEFAULT"
    return 0


if __name__ == "__main__":
    sys.exit(main())
