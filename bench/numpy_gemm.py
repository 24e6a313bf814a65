#!/usr/bin/env python3
"""fp32 matmul GFLOP/s of numpy (its BLAS, all cores) at the CPU GEMM benchmark's sizes.

Prints one JSON object per size: {"size", "median_ms", "gflops", "repeats"}; the median is over
`repeats` timed samples, each sample averaging enough products to last >= 0.2 s.
"""
import json
import sys
import time

import numpy as np


def bench(n, samples=7, min_sample_s=0.2):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=out)  # warm-up
    t0 = time.perf_counter()
    np.matmul(a, b, out=out)
    one = max(time.perf_counter() - t0, 1e-6)
    per_sample = max(1, int(min_sample_s / one))
    for _ in range(2):  # further warm-up
        np.matmul(a, b, out=out)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(per_sample):
            np.matmul(a, b, out=out)
        times.append((time.perf_counter() - t0) / per_sample)
    times.sort()
    median = times[len(times) // 2]
    return {"size": n, "median_ms": median * 1e3, "gflops": 2.0 * n ** 3 / median / 1e9, "repeats": samples}


if __name__ == "__main__":
    sizes = [int(s) for s in sys.argv[1:]] or [256, 1024, 2048]
    for n in sizes:
        print(json.dumps(bench(n)), flush=True)
