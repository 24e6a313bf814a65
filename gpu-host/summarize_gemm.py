#!/usr/bin/env python3
"""Joins GEMM benchmark lines of the engine (GpuBench: impl "cublas" / "own") with PyTorch's
(gemm_peer.py: impl "torch") by (dtype, m, n, k) and prints a table with the ratio
torch_ms / our_ms (above 1: ours is faster). Input: files of JSON lines; other lines are ignored.
Usage: summarize_gemm.py OURS.jsonl TORCH.jsonl
"""
import json
import sys


def read_gemm_lines(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if row.get("bench") == "gemm" and {"impl", "dtype", "m", "n", "k", "median_ms"} <= row.keys():
                    row["dtype"] = row["dtype"].lower()  # GpuBench writes F32/BF16, the peer f32/bf16
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ours, torch_rows = read_gemm_lines(argv[1]), read_gemm_lines(argv[2])
    torch_by_key = {(r["dtype"], r["m"], r["n"], r["k"]): r for r in torch_rows if r["impl"] == "torch"}
    if not ours and not torch_by_key:
        print("no GEMM results to compare")
        return 0
    header = f"{'dtype':<5} {'m':>6} {'n':>6} {'k':>6}  {'impl':<7} {'ours ms':>10} {'TFLOP/s':>8} {'torch ms':>10} {'TFLOP/s':>8} {'torch/ours':>10}"
    print(header)
    print("-" * len(header))
    seen = set()
    for r in sorted(ours, key=lambda r: (r["dtype"], r["m"], r["n"], r["k"], r["impl"])):
        key = (r["dtype"], r["m"], r["n"], r["k"])
        seen.add(key)
        t = torch_by_key.get(key)
        torch_ms = f"{t['median_ms']:10.4f}" if t else f"{'-':>10}"
        torch_tf = f"{t.get('tflops', 0):8.1f}" if t else f"{'-':>8}"
        ratio = f"{t['median_ms'] / r['median_ms']:10.3f}" if t and r["median_ms"] > 0 else f"{'-':>10}"
        print(f"{r['dtype']:<5} {r['m']:>6} {r['n']:>6} {r['k']:>6}  {r['impl']:<7} {r['median_ms']:10.4f} "
              f"{r.get('tflops', 0):8.1f} {torch_ms} {torch_tf} {ratio}")
    for key, t in sorted(torch_by_key.items()):
        if key not in seen:
            print(f"{key[0]:<5} {key[1]:>6} {key[2]:>6} {key[3]:>6}  {'(none)':<7} {'-':>10} {'-':>8} "
                  f"{t['median_ms']:10.4f} {t.get('tflops', 0):8.1f} {'-':>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
