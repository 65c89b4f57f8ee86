#!/usr/bin/env python3
"""Summarises Google Benchmark JSON runs of cpu_kernel_benchmarks into the CPU goals table of issue 6.

Each run file holds, for every repetition, the kernel rows with their ceiling fractions measured in that
same run (frac_copy_bw, frac_torch_int8, frac_torch_f32_mm). A goal's figure is the median over all
repetitions of all runs; min and max show the spread a loaded machine gives.

usage: summarize_cpu_goals.py RUN.json [RUN.json ...]  (prints a markdown table on stdout)
"""
import json
import re
import statistics
import sys

BANDWIDTH_GOAL = 0.70
INT8_GOAL = 0.5
F32_GOAL = 2.0

BANDWIDTH_KERNELS = ["quantize_per_token", "rmsnorm_quantize", "quantize_per_token_migration", "channel_stats"]
GEMM_KERNELS = ["gemm_w8a8/f32/vllm", "gemm_s8s8s32"]


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
            for key in ("frac_copy_bw", "frac_copy_bw_cpu", "frac_torch_int8", "frac_torch_f32_mm", "bytes_per_second",
                        "items_per_second"):
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
    for kernel in GEMM_KERNELS:
        for n, k in ((4096, 4096), (11008, 4096), (4096, 11008)):
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
        if "bytes_per_second" in row:
            print(f"- `{name}`: {statistics.median(row['bytes_per_second']) / 1e9:.2f} GB/s")
        elif "items_per_second" in row:
            print(f"- `{name}`: {statistics.median(row['items_per_second']) / 1e9:.1f} GOP/s")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
