#!/usr/bin/env python3
"""PyTorch side-by-side peer for io.reg4rec.bench.gpu.TopKBench: torch.topk along the last axis
(largest=True, sorted=True) on the same shapes (beam search: n = 2,400; SASRec evaluation: 256
rows of 12,000-20,000 scores) and inputs (normal, mean -8, std 2), one JSON object per line with
the same keys:
  {"bench":"topk","impl":"torch","dtype":"f32"|"bf16","rows":R,"cols":N,"k":K,"median_ms":..,"gbps":..}
gbps counts one read of the input, as TopKBench does.

Timing: CUDA events around each call after warm-up, median over --reps calls (default 50).
"""
import argparse
import json

import torch

from peer_timing import median_ms

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
# (rows, cols, k), as TopKBench.SHAPES
SHAPES = [(256, 2400, 20), (1280, 2400, 40), (5120, 2400, 64), (10000, 2400, 20),
          (256, 12000, 10), (256, 12000, 100), (256, 20000, 10), (256, 20000, 100)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    reps = max(10, args.reps)
    for name, dtype in DTYPES.items():
        for rows, cols, k in SHAPES:
            g = torch.Generator(device="cpu").manual_seed(7)
            x = (torch.randn(rows, cols, generator=g) * 2 - 8).to("cuda", dtype)
            ms = median_ms(lambda: torch.topk(x, k, dim=-1, largest=True, sorted=True), 5, reps)
            nbytes = rows * cols * x.element_size()
            print(json.dumps({"bench": "topk", "impl": "torch", "dtype": name, "rows": rows, "cols": cols, "k": k,
                              "median_ms": round(ms, 6), "gbps": round(nbytes / (ms * 1e-3) / 1e9, 1)}), flush=True)


if __name__ == "__main__":
    main()
