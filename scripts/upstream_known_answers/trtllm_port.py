#!/usr/bin/env python3
"""Known answers from a PORT of TensorRT-LLM's SmoothQuant numerics for LLaMA.

TensorRT-LLM is not installable here (its wheel needs CUDA and TensorRT) and its
runtime numerics are CUDA kernels, so every upstream function used below is
re-written line by line: the conversion side (Python/torch/numpy) with the same
torch and numpy operations in the same dtypes, the CUDA side in numpy float32
with the same operation order. Each port function's docstring names the
upstream file, the lines and the commit it follows. Writes
cases/upstream_known_answers/trtllm.json in the schema of the other files
(cases/upstream_known_answers/README.md); every case has "port": true.

Upstream (GitHub NVIDIA/TensorRT-LLM). The repository snapshot is larger than
what could be fetched here, so files were read one by one from the public code
index; each file was read at ONE commit, given beside it (the commits differ
from file to file; the index holds one stored version per file):

  tensorrt_llm/models/convert_utils.py           9b3c71241051d4e6d10523de4cf9015bf106ca7f
  tensorrt_llm/models/llama/convert.py           04a2cacbfd3b9ac76191bd8498ad871607b63a04
  tensorrt_llm/quantization/layers.py            2340c776201e4dba9aa625b8615e3e6ca9d7a7f6
  tensorrt_llm/quantization/functional.py        2a9abd9536aa62ad3e4b9314be9286b1b1be523b
  cpp/tensorrt_llm/kernels/quantization.cuh      0193dbd4189221d0fd5e9f20cdb384d3da8dbc24
  cpp/tensorrt_llm/kernels/quantization.cu       0c8de69a1ca6213eebb20a51873890ff128666c2
  cpp/tensorrt_llm/common/cudaTypeUtils.cuh      249d93d551e8ec11d6d62aabfc9ca8df41ead84c
                                                 (cvt.rni lines also at 03cff08f14948f2eb805e24829a813052030b41d)
  cpp/tensorrt_llm/common/quantTypeUtils.cuh     3585984b32cded5cc002d3087d3da4b0fd9fb8a5
  cpp/tensorrt_llm/plugins/quantizePerTokenPlugin/quantizePerTokenPlugin.cpp
                                                 1a43c7d62d008ca9d1efdfd50f9180390598d314
  cpp/tensorrt_llm/plugins/smoothQuantGemmPlugin/smoothQuantGemmPlugin.cpp
                                                 b57221b764bc579cbb2490154916a871f620e2c4
  cpp/tensorrt_llm/kernels/cutlass_kernels/int8_gemm/int8_gemm_template.h
                                                 23bc5b7c490576071a021d6fcfc32c5808db36a2
  cpp/tensorrt_llm/cutlass_extensions/include/cutlass_extensions/epilogue/threadblock/
      epilogue_per_row_per_col_scale.h           2a9abd9536aa62ad3e4b9314be9286b1b1be523b
  cpp/CMakeLists.txt                             02fbea289e7a36f3e4d7bcdb4fb326188bc44967

Line numbers ("L123") were counted in the stored text of the files at those
commits (the text was re-assembled from the index and checked against the
stored character count: convert_utils.py, llama/convert.py up to quantize(),
quantization.cuh up to char 16000, cudaTypeUtils.cuh and
epilogue_per_row_per_col_scale.h). layers.py, functional.py, the two plugins,
int8_gemm_template.h and CMakeLists.txt are cited by function name only.
/tmp/trtllm_findings.md (a session note, not part of the repository) has the
full notes.

How to run
  /tmp/upstream-venv/bin/python scripts/upstream_known_answers/trtllm_port.py
  (the venv of run.sh; only torch and numpy are needed). Deterministic: two runs
  write identical files.
"""

import json
import math
import os
import platform
import struct
import sys
from importlib import metadata

os.environ["ATEN_CPU_CAPABILITY"] = "default"   # as generate.py: scalar CPU kernels

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import generate as G  # noqa: E402  (helpers only: tensor_json, case, gen, randn, rand, ...)

OUT_PATH = os.path.join(G.OUT_DIR, "trtllm.json")
GENERATOR = "scripts/upstream_known_answers/trtllm_port.py"

SHORT = G.SHORT
F16, BF16, F32 = torch.float16, torch.bfloat16, torch.float32

C_CONVERT_UTILS = "9b3c71241051d4e6d10523de4cf9015bf106ca7f"
C_LLAMA_CONVERT = "04a2cacbfd3b9ac76191bd8498ad871607b63a04"
C_LAYERS = "2340c776201e4dba9aa625b8615e3e6ca9d7a7f6"
C_FUNCTIONAL = "2a9abd9536aa62ad3e4b9314be9286b1b1be523b"
C_QUANT_CUH = "0193dbd4189221d0fd5e9f20cdb384d3da8dbc24"
C_QUANT_CU = "0c8de69a1ca6213eebb20a51873890ff128666c2"
C_TYPEUTILS = "249d93d551e8ec11d6d62aabfc9ca8df41ead84c"
C_QTYPEUTILS = "3585984b32cded5cc002d3087d3da4b0fd9fb8a5"
C_QPT_PLUGIN = "1a43c7d62d008ca9d1efdfd50f9180390598d314"
C_SQ_PLUGIN = "b57221b764bc579cbb2490154916a871f620e2c4"
C_INT8_GEMM = "23bc5b7c490576071a021d6fcfc32c5808db36a2"
C_EPILOGUE = "2a9abd9536aa62ad3e4b9314be9286b1b1be523b"

SOURCES = {
    "tensorrt_llm/models/convert_utils.py": C_CONVERT_UTILS,
    "tensorrt_llm/models/llama/convert.py": C_LLAMA_CONVERT,
    "tensorrt_llm/quantization/layers.py": C_LAYERS,
    "tensorrt_llm/quantization/functional.py": C_FUNCTIONAL,
    "cpp/tensorrt_llm/kernels/quantization.cuh": C_QUANT_CUH,
    "cpp/tensorrt_llm/kernels/quantization.cu": C_QUANT_CU,
    "cpp/tensorrt_llm/common/cudaTypeUtils.cuh": C_TYPEUTILS,
    "cpp/tensorrt_llm/common/quantTypeUtils.cuh": C_QTYPEUTILS,
    "cpp/tensorrt_llm/plugins/quantizePerTokenPlugin/quantizePerTokenPlugin.cpp": C_QPT_PLUGIN,
    "cpp/tensorrt_llm/plugins/smoothQuantGemmPlugin/smoothQuantGemmPlugin.cpp": C_SQ_PLUGIN,
    "cpp/tensorrt_llm/kernels/cutlass_kernels/int8_gemm/int8_gemm_template.h": C_INT8_GEMM,
    "cpp/tensorrt_llm/cutlass_extensions/include/cutlass_extensions/epilogue/threadblock/"
    "epilogue_per_row_per_col_scale.h": C_EPILOGUE,
}

FLT_MAX = np.float32(np.finfo(np.float32).max)


def _up(path, commit, what):
    return f"TensorRT-LLM (GitHub NVIDIA/TensorRT-LLM, {path} @ {commit}), {what} (PORT)"


# ----------------------------------------------------------------------------
# Conversion side: tensorrt_llm/models/convert_utils.py @ 9b3c7124 (torch, in place)
# ----------------------------------------------------------------------------

@torch.no_grad()
def trtllm_port_apply_smoothing(scales, gemm_weights, layernorm_weights=None, layernorm_bias=None,
                                dtype=torch.float32, layernorm_1p=False):
    """PORT of convert_utils.py apply_smoothing (L279-302 @ 9b3c7124; div_ L294, mul_ L302).

    In place, in torch: the norm weight (model dtype, fp16 in the SmoothQuant
    flow) is divided by the float64 `scales` (TensorIterator computes in
    float64, the common dtype, and casts the quotient back into the fp16
    tensor); every gemm weight is multiplied by scales.view(1, -1) likewise.
    The `.to(dtype)` calls' results are discarded upstream (the in-place op
    already kept the tensor's dtype). torch's float64 -> float16 cast goes
    through float32 (two roundings; checked in _self_checks).
    """
    del dtype  # upstream's .to(dtype) results are unused: the in-place ops below keep each tensor's dtype
    for norm_part in (layernorm_weights, layernorm_bias):
        if norm_part is not None:
            assert norm_part.numel() == scales.numel()
            norm_part.div_(scales)                   # float64 quotient, cast back into the tensor's dtype
    if layernorm_1p:                                 # a norm stored as (1 + weight): shift it back
        layernorm_weights += (1 / scales) - 1
    for gemm in (gemm_weights if isinstance(gemm_weights, list) else [gemm_weights]):
        gemm.mul_(scales.view(1, -1))                # column j times s_j, cast back likewise


@torch.no_grad()
def trtllm_port_smooth_gemm(gemm_weights, act_scales, layernorm_weights=None, layernorm_bias=None,
                            alpha=0.5, weight_scales=None):
    """PORT of convert_utils.py smooth_gemm (L305-332 @ 9b3c7124).

    weight_scales = max over rows of every gemm of |W| (model dtype). Upstream
    then writes `weight_scales.to(float).clamp(min=1e-5)` and DISCARDS the
    result (L325): weight_scales stays in the model dtype and unclamped, so
    w^(1-alpha) is computed in fp16 (torch casts the exponent to fp16 first)
    and a zero column gives w^(1-alpha) = 0.
    scales = clamp(act.to(float64)^alpha / w^(1-alpha), min=1e-5) in float64
    (L326-327; float64 tensor / fp16 tensor promotes to float64); clamp keeps
    inf and NaN. Upstream runs this on the model's device (CUDA by default,
    llama/convert.py quantize() L1111); the port runs torch on the CPU.
    """
    gemms = gemm_weights if isinstance(gemm_weights, list) else [gemm_weights]
    scales = _trtllm_scales(gemms, act_scales, alpha, weight_scales)
    trtllm_port_apply_smoothing(scales, gemms, layernorm_weights, layernorm_bias, gemms[0].dtype)
    return scales


def _trtllm_scales(stacked, act_scales, alpha, weight_scales=None):
    """The s both smoothing entry points form (convert_utils.py L318-327 and
    L353-366 @ 9b3c7124), from the gemms stacked along rows.

    w: the column maxima of |W| over every stacked gemm, kept in the model
    dtype (the float64 clamp of it is computed and thrown away upstream);
    s = (a in float64)^alpha / w^(1-alpha), floored at 1e-5, in float64.
    """
    for g in stacked:
        assert g.shape[1] == act_scales.numel()     # [out, in]: in must be the smoothed channel count
    if weight_scales is None:
        weight_scales = torch.stack([g.abs().amax(dim=0) for g in stacked]).amax(dim=0)
    a64 = act_scales.to(stacked[0].device).to(torch.float64)
    return (a64.pow(alpha) / weight_scales.pow(1 - alpha)).clamp(min=1e-5)


@torch.no_grad()
def trtllm_port_smooth_gemm_fc1_gate(fc1_weights, gate_weights, act_scales, layernorm_weights=None,
                                     layernorm_bias=None, alpha=0.5, weight_scales=None):
    """PORT of convert_utils.py smooth_gemm_fc1_gate (L335-371 @ 9b3c7124).

    As smooth_gemm on torch.cat([fc1, gate], dim=0) (L349-351; same discarded
    clamp, L364), then apply_smoothing on the original fc1 and gate tensors
    (L368-369).
    """
    fc1 = fc1_weights if isinstance(fc1_weights, list) else [fc1_weights]
    gate = gate_weights if isinstance(gate_weights, list) else [gate_weights]
    stacked = [torch.cat([f, g], dim=0) for f, g in zip(fc1, gate)]
    scales = _trtllm_scales(stacked, act_scales, alpha, weight_scales)
    trtllm_port_apply_smoothing(scales, fc1 + gate, layernorm_weights, layernorm_bias, stacked[0].dtype)
    return scales


def trtllm_port_generate_int8(weights, act_range, is_qkv=False, multi_query_mode=False):
    """PORT of convert_utils.py generate_int8 (L374-481 @ 9b3c7124), the
    non-QKV branch and the two outputs the per-channel SmoothQuant path uses
    ("weight.int8.col" L474, "scale_w_quant_orig.col" L477; llama/convert.py
    @ 04a2cacb get_tllm_linear_sq_weight stores them as `weight` (transposed
    back to [out, in], L311) and `per_channel_scale` reshaped to [1, out]
    (L291, L340-341)). Non-QKV branch L426-430, to_i8 L460, np_weights L461.

    numpy, in the dtypes numpy picks: act_range["w"] is the per-output-row
    max|W| of the SMOOTHED fp16 weight (llama/convert.py smooth_llama_model
    L72, L89, L103, L107, L116; the model is fp16: quantize() L1112),
    so `127. / w.numpy()` is a float16 array (Python float with a float16
    array: float16 under numpy 1.x value-based casting and numpy 2 NEP 50
    alike), 1.0 / that is float16 again, then .astype(float32). The weight
    product is float16 x float16 -> float16 for an fp16 checkpoint, float32 x
    float16 -> float32 for a float32 one. to_i8 = round (half to even)
    -> clip(-127, 127) -> astype(int8). 127/w overflows float16 to inf when
    w <= 127/65520 (0.001938...): codes +-127 (NaN -> int8 for zeros) and
    scale 1/inf = 0.
    """
    assert not is_qkv and not multi_query_mode, "only the non-QKV branch is ported"
    # Per output channel: the multiplier 127 / absmax in numpy's dtype for it (float16 for an fp16
    # absmax), the stored scale its reciprocal in that dtype widened to float32, the codes the rounded
    # (half to even), clipped product cast to int8. The per-tensor outputs are not used by the
    # per-channel SmoothQuant path and are not ported.
    multiplier = 127. / act_range["w"].cpu().numpy()
    w_np = weights.cpu().detach().numpy()
    codes = (w_np * multiplier).round().clip(-127, 127).astype(np.int8)
    return {
        "weight.int8.col": codes,
        "scale_w_quant_orig.col": (1.0 / multiplier).astype(np.float32),
        "_scale_w_orig_quant_c": multiplier,  # for the notes: its dtype is the point
    }


# ----------------------------------------------------------------------------
# Runtime side (CUDA), re-written in numpy float32
# ----------------------------------------------------------------------------

def _cast_f32_to(dt, v):
    """A float32 value -> dtype dt (round to nearest even, overflow -> inf), as a Python float.
    __float2half / __float2bfloat16 / cutlass round_to_nearest; torch's cast does the same."""
    return float(torch.tensor(np.float32(v), dtype=torch.float32).to(dt).to(torch.float32))


def trtllm_port_per_token_quant(x):
    """PORT of quantization.cuh perTokenQuantization<T, int8_t, USE_SMEM>
    (L186-272 @ 0193dbd4) with clampPtr == nullptr and hasFp8MinScaling ==
    false (SmoothQuant int8: functional.py quantize_per_token passes no
    clamp_val; quantizePerTokenPlugin.cpp enqueue passes nullptr;
    quantization.cu invokePerTokenQuantization sets hasFp8MinScaling only for
    FP8 row-wise). clampPtr null -> clampMin/Max = cuda_cast<T>(-/+FLT_MAX)
    (L194-195): +-FLT_MAX in float32, -/+inf in fp16 and bf16 (RN overflow).

    Per row, in T: cuda_clamp = cuda_min(cuda_max(v, clampMin), clampMax)
    (L232; cudaTypeUtils.cuh @ 249d93d5 L668-673, with fmaxf/fminf for float2
    L615-621/L645-651 and __hmax2/__hmin2 for half2 and bf162 L624-635/
    L654-665, which return the other operand when one is NaN), so NaN ->
    clampMin (-FLT_MAX in f32, -inf in f16/bf16) and in f32 +-inf -> +-FLT_MAX;
    the clamped values are what gets quantised (smem holds them, L244; the
    reload path re-clamps, L170-173). Row max of |v| starting at T(1e-6f)
    (L221, L233, L247). float rowMax; per-token scale written =
    rowMax / 127.f (L249-251; MAX_VAL 127.f: quantTypeUtils.cuh; IEEE division:
    FAST_MATH is OFF by default in cpp/CMakeLists.txt); scaleOrigQuant =
    127.f / rowMax (L264-265); each value: float(v) * scaleOrigQuant in float32
    (quantizeAndStore L174-176), then cuda_cast<int16_t, float2> (L177;
    cudaTypeUtils.cuh L377-389 -> L364-375 cvt.rni.sat.s8.f32: half to even,
    saturate to [-128, 127], NaN -> 0).
    """
    dt = x.dtype
    assert dt in (F32, F16, BF16)
    c_min = np.float32(_cast_f32_to(dt, -FLT_MAX))
    c_max = np.float32(_cast_f32_to(dt, FLT_MAX))
    floor = np.float32(_cast_f32_to(dt, np.float32(1e-6)))   # T(1e-6f)
    xf = x.to(torch.float32).numpy()                         # exact widening
    T, C = xf.shape
    q = np.zeros((T, C), dtype=np.int8)
    scale = np.zeros((T,), dtype=np.float32)
    for t in range(T):
        v = xf[t].astype(np.float32)
        v = np.where(np.isnan(v), c_min, np.maximum(v, c_min)).astype(np.float32)   # cuda_max(v, clampMin)
        v = np.minimum(v, c_max).astype(np.float32)                                 # cuda_min(., clampMax)
        m = floor
        for a in np.abs(v):
            m = np.float32(max(m, a))                            # no NaN left after the clamp
        row_max = np.float32(m)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            scale[t] = np.float32(row_max / np.float32(127.0))
            inv = np.float32(np.float32(127.0) / row_max)
            prod = (v * inv).astype(np.float32)
        r = np.rint(prod)                                        # cvt.rni: half to even
        r = np.where(np.isnan(r), 0.0, r)                        # NaN -> 0
        r = np.clip(r, -128.0, 127.0)                            # .sat
        q[t] = r.astype(np.int8)
    return torch.from_numpy(q), torch.from_numpy(scale).view(T, 1)


def trtllm_port_gemm(a, b, scale_a, scale_b, out_dtype):
    """PORT of the SmoothQuant int8 GEMM epilogue:
    epilogue_per_row_per_col_scale.h EpilogueVisitorPerRowPerCol::visit
    (L264-286 @ 2a9abd95) and per_token_channel_scale_accumulator_ (L306-319,
    `result[i] = accum[i] * (scale_col[i] * scale_row)` L315), with
    int8_gemm_template.h genericInt8GemmKernelLauncher (@ 23bc5b7c:
    ElementAccumulator int32, ElementCompute float, output half_t /
    bfloat16_t / float). smoothQuantGemmPlugin.cpp enqueue passes
    alphaCol = per-channel scales (input 3), alphaRow = per-token scales
    (input 2).

    acc = exact int32 dot product; r = float(acc) (NumericArrayConverter,
    round to nearest); result = r * (scale_col[n] * scale_row[m]) -- the two
    scales multiplied first, one float32 rounding, then one more for the
    product with r; out = round-to-nearest-even conversion to the output dtype
    (NumericArrayConverter<ElementOutput, float>). No bias in the epilogue
    (SmoothQuantLinear/RowLinear.forward add it afterwards in the model dtype;
    LLaMA has none). Returns (out, vllm_order_out, acc) where vllm_order_out is
    rn(sa * rn(sb * acc)), vLLM's order without bias, for comparison only.
    """
    acc = a.to(torch.int64) @ b.to(torch.int64).T
    assert int(acc.abs().max()) < 2 ** 31
    accf = acc.numpy().astype(np.float32)                        # int -> float, RN (|acc| < 2^31)
    sa = scale_a.to(torch.float32).numpy().astype(np.float32)
    sb = scale_b.to(torch.float32).numpy().astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        s_rc = (sb[None, :] * sa[:, None]).astype(np.float32)   # scale_col[i] * scale_row
        res = (accf * s_rc).astype(np.float32)                   # accum[i] * (...)
        vllm = (sa[:, None] * (sb[None, :] * accf).astype(np.float32)).astype(np.float32)
    return (torch.from_numpy(res).to(out_dtype), torch.from_numpy(vllm).to(out_dtype),
            acc.to(torch.int32))


def trtllm_port_smoother(x, smoother):
    """PORT of the runtime use of `smoother` in layers.py @ 2340c776:
    SmoothQuantAttention.forward (`value = cast(self.dense.smoother.value,
    context.dtype); context = context / value`) and
    SmoothQuantGatedMLP.forward (`smoother = cast(self.proj.smoother.value,
    self.dtype); inter_x_gate = inter_x_gate / smoother`; SmoothQuantMLP.forward
    likewise with inter.dtype); line numbers not counted for this file. The smoother
    parameter is float32 [1, in_features] (SmoothQuantRowLinear), written by
    llama/convert.py as smoother.float() of smooth_gemm's float64 s (L86, L114)
    and stored .to(torch.float32) by get_tllm_linear_sq_weight (L396-401).

    y = x / T(smoother) in the model dtype T: a TensorRT cast layer then a
    TensorRT elementwise division (both inside TensorRT, not in TRT-LLM's
    source). ASSUMED here: the cast rounds to nearest even and the division
    is correctly rounded in T (computed as float32 division then rounding to
    T, which is the correctly rounded T quotient for f16 and bf16).
    """
    dt = x.dtype
    s_t = smoother.to(torch.float32).to(dt)                      # cast(smoother, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = (x.to(torch.float32).numpy() / s_t.to(torch.float32).numpy()[None, :]).astype(np.float32)
    return torch.from_numpy(y).to(dt)


# ----------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------

def _f64_hex(t):
    return ["0x%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in t.tolist()]


def _self_checks():
    # torch's f64 -> f16 goes through f32 (two roundings): 1 + 2^-11 + 2^-40 -> 1.0, not 1 + 2^-10.
    x = 1 + 2 ** -11 + 2 ** -40
    assert torch.tensor([x], dtype=torch.float64).to(F16).item() == 1.0
    h = torch.tensor([1.0], dtype=F16)
    h.mul_(torch.tensor([x], dtype=torch.float64))
    assert h.item() == 1.0
    # torch's fp16 pow with a Python-float exponent rounds the exponent to fp16 first (CPU, ATen default).
    w = torch.tensor([0.3, 1.7, 0.0123, 3.0], dtype=F16)
    e = 1 - 0.85
    e16 = np.float32(torch.tensor(e).to(F16).item())
    want = torch.from_numpy(np.power(w.float().numpy(), e16)).to(F16)
    assert torch.equal(w.pow(e), want)
    # per-token quantiser on hand-made rows: ties at scale 1 go half to even
    q, s = trtllm_port_per_token_quant(torch.tensor([[127.0, 2.5, -2.5, 0.5, -0.5, 1.5, 3.5, -126.5]]))
    assert q.tolist() == [[127, 2, -2, 0, 0, 2, 4, -126]], q
    assert s.item() == np.float32(1.0)
    # an all-zero row: rowMax = T(1e-6f), codes 0
    q, s = trtllm_port_per_token_quant(torch.zeros(1, 8))
    assert q.abs().sum() == 0 and s.item() == np.float32(np.float32(1e-6) / np.float32(127))


def _check_smoothing(s64, outs, dt):
    """Independent re-derivation: output = dt(f32(f64(in) op s64)); also how many elements a
    single f64 -> dt rounding would change (informational)."""
    s = s64.numpy()
    n_direct = 0
    for kind, before, after in outs:
        b = before.to(torch.float64).numpy()
        with np.errstate(all="ignore"):
            exact = b / s if kind == "div" else b * s[None, :]
        with np.errstate(all="ignore"):
            via32 = torch.from_numpy(exact.astype(np.float32)).to(dt)
            direct = torch.from_numpy(exact.astype(np.float16 if dt == F16 else np.float32))
        assert G.same_bits(via32, after), kind
        if dt == F16:
            n_direct += int((~_bit_eq(direct, after)).sum())
    return n_direct


def _num(v):
    """A float for params: non-finite values as strings, so that the JSON round trip compares equal."""
    v = float(v)
    return v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))


def _bit_eq(x, y):
    if x.dtype == torch.float32:
        return x.view(torch.int32) == y.view(torch.int32)
    return x.view(torch.int16) == y.view(torch.int16)


# ----------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------

def _act_f16_exact(act):
    """capture_activation_range keeps max|x| of fp16 activations as .float(): fp16 values in float32."""
    return act.to(F16).to(torch.float32)


def smooth_cases():
    up_ln = _up("tensorrt_llm/models/convert_utils.py", C_CONVERT_UTILS,
                "smooth_gemm / smooth_gemm_fc1_gate + apply_smoothing, as called by "
                f"tensorrt_llm/models/llama/convert.py @ {C_LLAMA_CONVERT} smooth_llama_model")
    cases = []
    dt = F16   # llama/convert.py quantize(): SmoothQuant loads the HF model with torch_dtype=torch.float16

    def inputs(seed, C=32, outs=(8, 4, 4), zero_col=False):
        g = G.gen(seed)
        act = G.rand(g, C, lo=0.05, hi=4.0)
        act[5] *= 100.0                       # outlier channel
        act[9] = 0.0                          # zero activation channel: s = 0 -> clamp 1e-5
        act[11] = 0.3333333
        norm = G.rand(g, C, lo=0.2, hi=1.5)
        norm[9] = 0.5                         # 0.5 / 1e-5 = 5e4 stays finite in fp16
        norm[13] = 0.0                        # norm weight zero channel
        fcs = []
        for i, o in enumerate(outs):
            w = G.randn(g, o, C) * 0.05
            w[i % o, 17] *= 100.0             # outlier weight
            if zero_col:
                w[:, 21] = 0.0                # zero column in every fc: w_21 = 0 -> s = a^α / 0 = inf
                w[:, 23] = 0.0                # and with act_23 = 0 below: s = 0/0 = NaN
            fcs.append(w.to(dt))
        if zero_col:
            act[23] = 0.0
            norm[9] = 1.0                     # 1.0 / 1e-5 = 1e5 > 65504: the smoothed norm weight is inf
        return _act_f16_exact(act), norm.to(dt), fcs

    variants = [
        ("qkv_a050", 0.5, "qkv", {}),
        ("qkv_a085", 0.85, "qkv", {}),
        ("gate_up_a050", 0.5, "gate_up", dict(outs=(8, 8))),
        ("qkv_zero_col_a050", 0.5, "qkv", dict(zero_col=True)),
    ]
    for vi, (vname, alpha, kind, kw) in enumerate(variants):
        act, norm, fcs = inputs(1500 + vi, **kw)
        new_norm = norm.clone()
        new_fcs = [w.clone() for w in fcs]
        if kind == "qkv":
            # smooth_llama_model: weight = torch.cat([q, k, v]); smooth_gemm(weight, act, input_layernorm.weight,
            # None, alpha) -- smooths the concatenated copy, which becomes qkv_para.
            weight = torch.cat(new_fcs, dim=0)
            s = trtllm_port_smooth_gemm(weight, act, new_norm, None, alpha)
            new_fcs = list(torch.split(weight, [w.shape[0] for w in fcs], dim=0))
        else:
            # smooth_gemm_fc1_gate(gate_proj.weight, up_proj.weight, act, post_attention_layernorm.weight, None, alpha)
            s = trtllm_port_smooth_gemm_fc1_gate(new_fcs[0], new_fcs[1], act, new_norm, None, alpha)
        assert s.dtype == torch.float64
        outs = [("div", norm, new_norm)] + [("mul", w, nw) for w, nw in zip(fcs, new_fcs)]
        n_direct = _check_smoothing(s, outs, dt)
        wmax = torch.cat([w.abs().max(dim=0, keepdim=True)[0] for w in fcs], 0).max(0)[0]
        params = {
            "alpha": alpha,
            "pairing": "input_layernorm -> q,k,v (one torch.cat)" if kind == "qkv"
                       else "post_attention_layernorm -> gate_proj (fc0), up_proj (fc1)",
            "s_dtype": "float64",
            "s_recorded_as": "float32 = s.float(); the weights were scaled by the float64 s in s_f64_bits",
            "s_f64_bits": _f64_hex(s),
            "w_pow_dtype": "float16 (weight_scales.to(float).clamp(min=1e-5) is discarded upstream)",
            "w_pow_exponent": ("0.5 (torch sqrt)" if alpha == 0.5 else
                               f"1-alpha rounded to fp16 = {float(torch.tensor(1 - alpha).to(F16))}"),
            "zero_weight_channels": [int(j) for j in torch.nonzero(wmax == 0).flatten().tolist()],
            "store_rounding": "f16(f32(x op s64)): torch's float64 -> float16 cast goes through float32",
            "elements_where_direct_f64_to_f16_differs": n_direct,
        }
        if alpha == 0.5:
            # torch's CPU float64 pow(0.5) is not always the correctly rounded sqrt (upstream ran on CUDA,
            # whose float64 sqrt is IEEE): count the channels, and the outputs that would change.
            a64 = act.to(torch.float64)
            exact = torch.from_numpy(np.sqrt(a64.numpy()))
            w_pow = wmax.pow(0.5)
            assert torch.equal(w_pow, torch.from_numpy(np.sqrt(wmax.to(torch.float64).numpy()).astype(np.float16)))
            s_alt = (exact / w_pow).clamp(min=1e-5)
            n_out = 0
            for kind, before, after in outs:
                b = before.to(torch.float64).numpy()
                with np.errstate(all="ignore"):
                    ex = b / s_alt.numpy() if kind == "div" else b * s_alt.numpy()[None, :]
                    alt = torch.from_numpy(ex.astype(np.float32)).to(dt)
                n_out += int((~_bit_eq(alt, after)).sum())
            params["act_pow_channels_not_correctly_rounded"] = int((a64.pow(0.5) != exact).sum())
            params["outputs_changed_by_correctly_rounded_sqrt"] = n_out
            params["s_f32_changed_by_correctly_rounded_sqrt"] = int(
                (~_bit_eq(s_alt.to(torch.float32), s.to(torch.float32))).sum())
        ins = {"act_scales": act, "norm_weight": norm}
        ous = {"s": s.to(torch.float32), "norm_weight": new_norm}
        for i, (w, nw) in enumerate(zip(fcs, new_fcs)):
            ins[f"fc{i}"] = w
            ous[f"fc{i}"] = nw.contiguous()
        cases.append(G.case(f"trtllm_smooth_ln_fcs_{SHORT['float16']}_{vname}", "smooth_ln_fcs", up_ln, True,
                            params, ins, ous))
    return cases


def smooth_fc_smoother_cases():
    up = _up("tensorrt_llm/models/convert_utils.py", C_CONVERT_UTILS,
             "smooth_gemm(o_proj / down_proj weight, act, None, None, alpha), as called by "
             f"tensorrt_llm/models/llama/convert.py @ {C_LLAMA_CONVERT} smooth_llama_model "
             "(llama_smoother[name] = smoother.float())")
    cases = []
    dt = F16
    variants = [("plain_a050", 0.5, False), ("zero_col_a050", 0.5, True), ("plain_a085", 0.85, False)]
    for vi, (vname, alpha, zero_col) in enumerate(variants):
        g = G.gen(1600 + vi)
        C, O = 16, 12
        act = G.rand(g, C, lo=0.05, hi=4.0)
        act[3] *= 100.0
        act[6] = 0.0                          # s = 1e-5 after the clamp: the runtime divides by it
        w = G.randn(g, O, C) * 0.05
        w[0, 2] *= 100.0
        if zero_col:
            w[:, 9] = 0.0                     # s_9 = inf: column 9 becomes 0 * inf = NaN in every row
        act, w = _act_f16_exact(act), w.to(dt)
        nw = w.clone()
        s = trtllm_port_smooth_gemm(nw, act, None, None, alpha)
        _check_smoothing(s, [("mul", w, nw)], dt)
        smoother = s.float()
        params = {
            "alpha": alpha,
            "s_dtype": "float64",
            "s_recorded_as": "float32 = smoother.float(), the value stored as <layer>.smoother",
            "s_f64_bits": _f64_hex(s),
            "w_pow_dtype": "float16 (discarded clamp, as smooth_ln_fcs)",
            "fc_rows_with_nan": int(torch.isnan(nw.float()).any(dim=1).sum()),
        }
        if alpha == 0.5:
            exact = torch.from_numpy(np.sqrt(act.to(torch.float64).numpy()))
            with np.errstate(all="ignore"):
                s_alt = (exact / w.abs().max(dim=0)[0].pow(0.5)).clamp(min=1e-5)
            params["s_f32_changed_by_correctly_rounded_sqrt"] = int(
                (~_bit_eq(s_alt.to(torch.float32), smoother)).sum())
        cases.append(G.case(f"trtllm_smooth_fc_smoother_{SHORT['float16']}_{vname}", "smooth_fc_smoother", up, True,
                            params, {"act_scales": act, "fc0": w}, {"s": smoother, "fc0": nw}))
    return cases


def _wq_rows(seed, dt):
    """[6, 16] weights: random rows, an outlier row, a row with absmax 127 (127/127 = 1: codes round(w),
    ties k + 0.5) and one with absmax 63.5 (127/63.5 = 2: ties where 2w = k + 0.5). All fp16-exact."""
    g = G.gen(seed)
    w = G.randn(g, 6, 16) * 0.05
    w[1] *= 40.0
    w[1, 3] = 7.75                                   # outlier
    w[2] = torch.tensor([127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5, 3.5, 0.25, -0.75, 10.5, -11.5, 0.0, 5.0, -6.0, 1.0])
    w[3] = torch.tensor([63.5, 1.25, -1.25, 0.25, -0.75, 2.75, 31.25, -31.75, 0.125, 0.0, 4.0, -5.0, 6.25, -7.25, 1.0, 2.0])
    w = w.to(F16).to(torch.float32)                  # fp16-exact (the checkpoint was smoothed in fp16)
    return w.to(dt)


def quantize_weight_cases():
    up = _up("tensorrt_llm/models/convert_utils.py", C_CONVERT_UTILS,
             "generate_int8 (per-channel outputs weight.int8.col, scale_w_quant_orig.col), as used by "
             f"tensorrt_llm/models/llama/convert.py @ {C_LLAMA_CONVERT} get_tllm_linear_sq_weight "
             "(per_token and per_channel)")
    cases = []

    def run(name, w, extra=None):
        dt = w.dtype
        # act_range["w"] = smoothed fp16 weight.abs().max(dim=1)[0] (smooth_llama_model); the checkpoint
        # dtype only changes the weight generate_int8 sees (convert.py get_weight(..., dtype)).
        w16 = w.to(F16)
        assert torch.equal(w16.to(dt), w)
        act_range = {"w": w16.abs().max(dim=1)[0]}
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            r = trtllm_port_generate_int8(w.t(), act_range)      # generate_int8 gets weight.t(): [in, out]
        q = torch.from_numpy(np.ascontiguousarray(r["weight.int8.col"].T))   # get_tllm_linear_sq_weight .t()
        scale = torch.from_numpy(r["scale_w_quant_orig.col"].reshape(-1, 1).copy())
        assert r["_scale_w_orig_quant_c"].dtype == np.float16
        # informational: how many codes a float32 product (w * f32(127/absmax)) would change
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            s32 = (np.float32(127.0) / w16.abs().max(dim=1)[0].float().numpy()).astype(np.float32)
            alt = np.clip(np.rint(w.float().numpy() * s32[:, None]), -127, 127)
            finite = np.isfinite(alt)
            n_diff = int((alt[finite] != q.numpy()[finite]).sum())
        params = {
            "per_channel": True,
            "scale_formula": "float32(f16(1.0 / f16(127. / f16(absmax))))  (numpy float16)",
            "product_dtype": "float16" if dt == F16 else "float32 (float32 weight x float16 127/absmax)",
            "rounding": "numpy round (half to even), clip(-127, 127)",
            "absmax_source": "fp16 smoothed weight, per output row",
            "stored_scale_shape": [1, int(w.shape[0])],
            "elements_where_f32_scale_product_differs": n_diff,
        }
        params.update(extra or {})
        cases.append(G.case(name, "quantize_weight", up, True, params, {"weight": w}, {"q": q, "scale": scale}))

    run("trtllm_quantize_weight_f16", _wq_rows(1700, F16))
    run("trtllm_quantize_weight_f32", _wq_rows(1700, F32),
        {"note": "checkpoint dtype float32: generate_int8 sees float32 weights, act_range['w'] is still fp16"})
    # A row with 0 < absmax <= 127/65520: 127/absmax overflows fp16 to inf, every non-zero code +-127,
    # scale 1/inf = 0 (so the GEMM output of that channel is +-0). No zero in that row (0 * inf = NaN).
    w = _wq_rows(1701, F16).to(torch.float32)
    w[4] = torch.linspace(-1.5e-3, 1.9e-3, 16)
    w[4, 7] = 1.0e-4
    w[4] = torch.where(w[4] == 0, torch.full_like(w[4], 3e-5), w[4])
    w = w.to(F16)
    assert float(w[4].abs().max()) <= 127 / 65520 and bool((w[4] != 0).all())
    run("trtllm_quantize_weight_f16_tiny_row", w, {"tiny_row": 4, "tiny_row_absmax": float(w[4].abs().max())})
    # An all-zero row: 127/0 = inf, 0 * inf = NaN, NaN -> int8 is undefined behaviour (numpy on x86 gave
    # the recorded codes); scale 1/inf = 0. Kept apart so a test can skip it.
    w = _wq_rows(1702, F16)
    w[5] = 0.0
    run("trtllm_quantize_weight_f16_zero_row", w,
        {"zero_row": 5, "zero_row_codes_are_undefined_behaviour": True})
    return cases


def quantize_per_token_cases():
    up = _up("cpp/tensorrt_llm/kernels/quantization.cuh", C_QUANT_CUH,
             "perTokenQuantization<T, int8_t> (clampPtr null) via quantization.cu invokePerTokenQuantization and "
             "the QuantizePerToken plugin")
    cases = []
    for dname, dt in G.DTYPES.items():
        g = G.gen(1800)
        C = 24                                              # multiple of 16 bytes / sizeof(T)
        x = G.randn(g, 9, C)
        x[1, 3] *= 100.0                                    # outlier
        x[2, :] = 0.0                                       # zero row: rowMax = T(1e-6f), codes 0
        x[3, :8] = torch.tensor([127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5, 3.5])   # scale 1: ties
        x[3, 8:] = x[3, 8:].clamp(-120, 120)
        x[4, :8] = torch.tensor([63.5, 1.25, -1.25, 0.25, -0.75, 2.75, 31.25, -31.75])  # 127/63.5 = 2: ties
        x[4, 8:] = x[4, 8:].clamp(-60, 60)
        x[5, :] = x[5, :] * 2e-7                            # every |x| < 1e-6: the floor is the row max
        x[6, 4] = float("nan")                              # NaN -> clampMin
        x[7, 7] = float("inf")                              # +inf: f32 -> FLT_MAX, f16/bf16 stays inf
        x[8, :] = float("nan")                              # all NaN
        x = x.to(dt)
        q, s = trtllm_port_per_token_quant(x)
        params = {
            "absmax_start": _num(_cast_f32_to(dt, np.float32(1e-6))),
            "scale": "rowMax / 127.f (float32)",
            "reciprocal": "127.f / rowMax, x * reciprocal in float32",
            "rounding": "half_even_saturate (cvt.rni.sat.s8.f32, NaN -> 0)",
            "clamp_min_max": [_num(_cast_f32_to(dt, -FLT_MAX)), _num(_cast_f32_to(dt, FLT_MAX))],
            "nan_input": "becomes clampMin before the row max (fmaxf / __hmax2 return the non-NaN operand)",
        }
        # Rows are independent: one case per behaviour, so that a test can hold each to its own rule
        # (finite rows; the zero row and the row below the floor, whose floor is cast to the activation's
        # dtype; NaN and inf).
        for part, rows in (("finite", [0, 1, 3, 4]), ("below_floor", [2, 5]), ("nan_inf", [6, 7, 8])):
            cases.append(G.case(f"trtllm_quantize_per_token_{SHORT[dname]}_{part}", "quantize_per_token", up, True,
                                params, {"x": x[rows].contiguous()},
                                {"q": q[rows].contiguous(), "scale": s[rows].contiguous()}))
    x = torch.tensor([[1.0, -float("inf"), 3.0, 0.5], [1e-30, -2e-30, 3e-30, 0.0],
                      [5e-7, -5e-7, 2.5e-7, 1e-7]], dtype=torch.float32)
    q, s = trtllm_port_per_token_quant(x)
    cases.append(G.case("trtllm_quantize_per_token_f32_neg_inf_and_tiny", "quantize_per_token", up, True,
                        {"absmax_start": _num(_cast_f32_to(F32, np.float32(1e-6))),
                         "rounding": "half_even_saturate (cvt.rni.sat.s8.f32, NaN -> 0)",
                         "note": "-inf -> -FLT_MAX in f32; rows below 1e-6 are scaled by the 1e-6 floor"},
                        {"x": x}, {"q": q, "scale": s}))
    return cases


def gemm_cases():
    up = _up("cpp/tensorrt_llm/cutlass_extensions/include/cutlass_extensions/epilogue/threadblock/"
             "epilogue_per_row_per_col_scale.h", C_EPILOGUE,
             "EpilogueVisitorPerRowPerCol::per_token_channel_scale_accumulator_ (int8_gemm_template.h @ "
             f"{C_INT8_GEMM}: int32 accumulator, float compute)")
    cases = []
    epi = "out = dtype(f32(float(acc) * f32(scale_b[n] * scale_a[m]))); no bias"
    for dname, dt in G.DTYPES.items():
        g = G.gen(1900)
        M, N, K = 4, 6, 32
        a = torch.randint(-128, 128, (M, K), generator=g, dtype=torch.int32).to(torch.int8)
        b = torch.randint(-128, 128, (N, K), generator=g, dtype=torch.int32).to(torch.int8)
        sa = G.rand(g, M, lo=1e-3, hi=2e-2)
        sb = G.rand(g, N, lo=1e-3, hi=2e-2)
        out, vl, _ = trtllm_port_gemm(a, b, sa, sb, dt)
        params = {"epilogue": epi, "elements_where_vllm_order_differs": int((~_bit_eq(out, vl)).sum())}
        if dt == BF16:
            params["plugin_note"] = (f"smoothQuantGemmPlugin.cpp @ {C_SQ_PLUGIN} init() throws 'Support for bf16 "
                                     "is missing'; CutlassInt8GemmRunner<__nv_bfloat16> exists (int8_gemm_bf16.cu)")
        cases.append(G.case(f"trtllm_gemm_w8a8_{SHORT[dname]}_random", "gemm_w8a8", up, True, params,
                            {"a": a, "b": b, "scale_a": sa, "scale_b": sb}, {"out": out}))
        # searched: a batch of single dot products (K 16) in which TensorRT-LLM's order differs from
        # vLLM's (sa * (sb * acc)) in the output dtype; the first two hits become the diagonal of a 2 x 2 case.
        g = G.gen(2000)
        B, K = 200000, 16
        hits, chunk = [], 0
        pool = {"a": [], "b": [], "sa": [], "sb": []}
        while len(hits) < 2:
            assert chunk < 40, dname
            ab = torch.randint(-128, 128, (B, K), generator=g, dtype=torch.int32)
            bb = torch.randint(-128, 128, (B, K), generator=g, dtype=torch.int32)
            sab = G.rand(g, B, lo=1e-3, hi=2e-2).numpy()
            sbb = G.rand(g, B, lo=1e-3, hi=2e-2).numpy()
            accb = (ab.to(torch.int64) * bb.to(torch.int64)).sum(1).numpy().astype(np.float32)
            trt = torch.from_numpy((accb * (sbb * sab).astype(np.float32)).astype(np.float32)).to(dt)
            vll = torch.from_numpy((sab * (sbb * accb).astype(np.float32)).astype(np.float32)).to(dt)
            for i in torch.nonzero(~_bit_eq(trt, vll)).flatten().tolist():
                hits.append(chunk * B + i)
                pool["a"].append(ab[i]); pool["b"].append(bb[i])
                pool["sa"].append(sab[i]); pool["sb"].append(sbb[i])
            chunk += 1
        i1, i2 = hits[0], hits[1]
        a = torch.stack(pool["a"][:2]).to(torch.int8)
        b = torch.stack(pool["b"][:2]).to(torch.int8)
        sa = torch.tensor(pool["sa"][:2], dtype=torch.float32)
        sb = torch.tensor(pool["sb"][:2], dtype=torch.float32)
        out, vl, _ = trtllm_port_gemm(a, b, sa, sb, dt)
        nd = int((~_bit_eq(out, vl)).sum())
        assert bool((~_bit_eq(out, vl)).diagonal().all()), dname
        cases.append(G.case(f"trtllm_gemm_w8a8_{SHORT[dname]}_order_differs", "gemm_w8a8", up, True,
                            {"epilogue": epi, "elements_where_vllm_order_differs": nd,
                             "search": f"draws {i1} and {i2} of single products (K {K}), batches of {B}"},
                            {"a": a, "b": b, "scale_a": sa, "scale_b": sb}, {"out": out}))
    # fp16 edges: a channel scale 0 (generate_int8's tiny/zero row) gives +-0, large scales overflow to inf
    g = G.gen(2100)
    M, N, K = 3, 4, 32
    a = torch.randint(-128, 128, (M, K), generator=g, dtype=torch.int32).to(torch.int8)
    b = torch.randint(-128, 128, (N, K), generator=g, dtype=torch.int32).to(torch.int8)
    sa = torch.tensor([1e-2, 40.0, 2e-3], dtype=torch.float32)
    sb = torch.tensor([0.0, 1e-2, 0.5, 3e-3], dtype=torch.float32)
    out, vl, acc = trtllm_port_gemm(a, b, sa, sb, F16)
    assert bool(torch.isinf(out).any()) and bool((out[:, 0] == 0).all())
    cases.append(G.case("trtllm_gemm_w8a8_f16_zero_scale_and_overflow", "gemm_w8a8", up, True,
                        {"epilogue": epi, "elements_where_vllm_order_differs": int((~_bit_eq(out, vl)).sum()),
                         "note": "scale_b[0] = 0 -> +-0 (sign of acc); |out| > 65504 -> inf in fp16"},
                        {"a": a, "b": b, "scale_a": sa, "scale_b": sb}, {"out": out}))
    return cases


def smoother_cases():
    up = _up("tensorrt_llm/quantization/layers.py", C_LAYERS,
             "SmoothQuantAttention.forward / SmoothQuantGatedMLP.forward: x / cast(smoother, dtype)")
    cases = []
    for dname, dt in G.DTYPES.items():
        g = G.gen(2200)
        T, C = 4, 16
        x = G.randn(g, T, C)
        x[0, 0] = 0.0
        x[1, 1] = -0.0
        x[2, 5] = 3.0
        x[3, 6] = -0.7
        sm = G.rand(g, C, lo=0.1, hi=10.0)
        sm[0] = 1e-5              # from act = 0 (clamp): x / 1e-5 overflows fp16 for |x| > 0.655
        sm[1] = 1e-9              # 0 in fp16 (below its smallest subnormal): x / 0 = +-inf, 0 / 0 = NaN
        sm[2] = float("inf")      # from a zero weight column: x / inf = +-0
        sm[3] = float("nan")      # from act = 0 and a zero weight column
        sm[4] = 1.0e6             # inf in fp16
        sm[5] = 0.3333333         # rounds in the cast
        sm[6] = 1.0e-5
        x = x.to(dt)
        y = trtllm_port_smoother(x, sm)
        cases.append(G.case(f"trtllm_smoother_{SHORT[dname]}", "smoother", up, True,
                            {"formula": "y = x / dtype(smoother), smoother float32 cast (RNE) to the model dtype, "
                                        "division in the model dtype (assumed correctly rounded)",
                             "smoother_in_model_dtype": [_num(v) for v in sm.to(dt).float().tolist()]},
                            {"x": x, "smoother": sm}, {"y": y}))
    return cases


def trtllm_cases():
    cases = []
    cases += smooth_cases()
    cases += smooth_fc_smoother_cases()
    cases += quantize_weight_cases()
    cases += quantize_per_token_cases()
    cases += gemm_cases()
    cases += smoother_cases()
    return cases


def _versions():
    return {
        "python": platform.python_version(),
        "torch": metadata.version("torch"),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "libc": " ".join(platform.libc_ver()),
        "numpy": metadata.version("numpy"),
        "TensorRT-LLM": "PORT of per-file commits: " + ", ".join(f"{p}@{c}" for p, c in SOURCES.items()),
    }


def main():
    torch.set_num_threads(1)
    _self_checks()
    cases = trtllm_cases()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {"generator": GENERATOR, "packages": _versions(), "cases": cases}
    with open(OUT_PATH, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    with open(OUT_PATH) as f:
        back = json.load(f)
    assert back["cases"] == cases
    for c in back["cases"]:
        for group in ("inputs", "outputs"):
            for tj in c[group].values():
                assert G.tensor_json(G.tensor_from_json(tj)) == tj
    assert back["packages"]["torch_cpu_capability"] == "DEFAULT"
    print(f"wrote {OUT_PATH}: {len(cases)} cases, {os.path.getsize(OUT_PATH)} bytes")
    for n in names:
        print("  ", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
