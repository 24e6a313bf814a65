#!/usr/bin/env python3
"""Joins a benchmark's JSON lines from our launcher with its PyTorch peer's and prints one row
per measurement both made: our median, torch's median and torch/ours (above 1: ours faster).

Records match when every key that is not a measurement (median_ms, tflops, gbps, ...) and not
'impl' is equal. Usage: summarize_pairs.py OURS.jsonl TORCH.jsonl
"""
import json
import sys

MEASUREMENTS = {"median_ms", "tflops", "gbps", "fraction_of_copy", "us", "bytes", "impl", "note"}


def load(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    except FileNotFoundError:
        print(f"summarize_pairs: {path} is missing", file=sys.stderr)
    return rows


def key(row):
    return tuple(sorted((k, str(v)) for k, v in row.items() if k not in MEASUREMENTS))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: summarize_pairs.py OURS.jsonl TORCH.jsonl")
    ours, torch = load(sys.argv[1]), load(sys.argv[2])
    peer = {key(r): r for r in torch}
    matched = 0
    print(f"{'measurement':<70} {'ours ms':>10} {'torch ms':>10} {'torch/ours':>10}")
    for r in ours:
        t = peer.get(key(r))
        label = " ".join([f"impl={r.get('impl', '?')}"] + [f"{k}={v}" for k, v in key(r)])
        if t is None:
            print(f"{label:<70} {r.get('median_ms', float('nan')):>10.4f} {'-':>10} {'-':>10}")
            continue
        matched += 1
        ratio = t["median_ms"] / r["median_ms"] if r.get("median_ms") else float("nan")
        print(f"{label:<70} {r['median_ms']:>10.4f} {t['median_ms']:>10.4f} {ratio:>10.2f}")
    print(f"{matched} of {len(ours)} measurements have a PyTorch peer")


if __name__ == "__main__":
    main()
