#!/usr/bin/env python3
"""Summarises Google Benchmark JSON runs of cpu_kernel_benchmarks into the CPU goals table of issues 6 and 18.

Each run file holds, for every repetition, the kernel rows with their ceiling fractions measured in that
same run (frac_copy_bw, frac_torch_int8, frac_torch_f32_mm, frac_vpmaddwd). A goal's figure is the median over all
repetitions of all runs; min and max show the spread a loaded machine gives.

usage: summarize_cpu_goals.py RUN.json [RUN.json ...]  (prints a markdown table on stdout)
"""
import json
import re
import statistics
import sys

# Issue 18 raised the bandwidth-bound kernels' goal from issue 6's 0.70 to 0.75 of copy bandwidth.
BANDWIDTH_GOAL = 0.75
INT8_GOAL = 0.5
F32_GOAL = 2.0
# Issue 18: the exact GEMM over this machine's vpmaddwd ceiling (vpmaddwd_ceiling.h), measured beside
# each GEMM row: at prefill (M = 512) and at decode (M = 16).
VPMADDWD_GOALS = {512: 0.8, 16: 0.6}
LLAMA_LINEARS = ((4096, 4096), (11008, 4096), (4096, 11008))

BANDWIDTH_KERNELS = ["quantize_per_token", "rmsnorm_quantize", "quantize_per_token_migration", "channel_stats"]
GEMM_KERNELS = ["gemm_w8a8/f32/vllm", "gemm_s8s8s32"]
# The exact GEMM with b as the plain call takes it (packed inside every call) and prepacked once.
EXACT_GEMMS = ["gemm_s8s8s32", "gemm_s8s8s32/prepacked"]


def collect(paths):
    """name -> counter -> [values], over the per-repetition rows (aggregates are skipped)."""
    values = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for b in doc.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            name = b["name"].replace("/real_time", "")
            for key in ("frac_copy_bw", "frac_copy_bw_cpu", "frac_torch_int8", "frac_torch_f32_mm", "frac_vpmaddwd",
                        "vpmaddwd_gops_beside", "bytes_per_second", "items_per_second"):
                if key in b:
                    values.setdefault(name, {}).setdefault(key, []).append(float(b[key]))
    return values


def cell(vals, goal):
    if not vals:
        return "not measured", "-"
    med = statistics.median(vals)
    verdict = "met" if med >= goal else "NOT met"
    return f"{med:.2f} (min {min(vals):.2f}, max {max(vals):.2f}, n={len(vals)})", verdict


def main(paths):
    values = collect(paths)
    print("| goal | benchmark | ratio: median (min, max, n) | target | verdict | per CPU second (see notes) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kernel in BANDWIDTH_KERNELS:
        for dtype in ("f32", "bf16"):
            name = f"{kernel}/{dtype}/avx2/tokens:4096/hidden:4096"
            text, verdict = cell(values.get(name, {}).get("frac_copy_bw", []), BANDWIDTH_GOAL)
            cpu_text, _ = cell(values.get(name, {}).get("frac_copy_bw_cpu", []), BANDWIDTH_GOAL)
            print(f"| bandwidth | `{name}` | {text} of copy bandwidth | >= {BANDWIDTH_GOAL:.2f} | {verdict} | {cpu_text} |")
    for m, goal in VPMADDWD_GOALS.items():
        for kernel in EXACT_GEMMS:
            for n, k in LLAMA_LINEARS:
                name = f"{kernel}/avx2/M:{m}/N:{n}/K:{k}"
                text, verdict = cell(values.get(name, {}).get("frac_vpmaddwd", []), goal)
                print(f"| exact GEMM vs vpmaddwd ceiling | `{name}` | {text} | >= {goal:.1f} | {verdict} | - |")
    for kernel in GEMM_KERNELS:
        for n, k in LLAMA_LINEARS:
            name = f"{kernel}/avx2/M:512/N:{n}/K:{k}"
            row = values.get(name, {})
            text, verdict = cell(row.get("frac_torch_int8", []), INT8_GOAL)
            print(f"| int8 GEMM vs oneDNN | `{name}` | {text} | >= {INT8_GOAL:.1f} | {verdict} | - |")
            text, verdict = cell(row.get("frac_torch_f32_mm", []), F32_GOAL)
            print(f"| int8 GEMM vs f32 mm | `{name}` | {text} | >= {F32_GOAL:.1f} | {verdict} | - |")
    print()
    print("Absolute rates (median), for reference:")
    print()
    for name in sorted(values):
        row = values[name]
        if "vpmaddwd_gops_beside" in row:
            gops = row["items_per_second"]
            ceil = row["vpmaddwd_gops_beside"]
            print(f"- `{name}`: {statistics.median(gops) / 1e9:.1f} GOP/s (min {min(gops) / 1e9:.1f}, max "
                  f"{max(gops) / 1e9:.1f}); vpmaddwd ceiling beside it {statistics.median(ceil):.1f} GOP/s "
                  f"(min {min(ceil):.1f}, max {max(ceil):.1f})")
        elif "bytes_per_second" in row:
            print(f"- `{name}`: {statistics.median(row['bytes_per_second']) / 1e9:.2f} GB/s")
        elif "items_per_second" in row:
            print(f"- `{name}`: {statistics.median(row['items_per_second']) / 1e9:.1f} GOP/s")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
