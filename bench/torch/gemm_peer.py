#!/usr/bin/env python3
"""PyTorch side-by-side peer for the engine's GEMM benchmark (io.reg4rec.bench.gpu.GpuBench).

Times torch.matmul for square fp32 and bf16 problems on one CUDA device and prints one JSON
object per line with GpuBench's fields:
  {"bench":"gemm","impl":"torch","dtype":"f32"|"bf16","m":..,"n":..,"k":..,"median_ms":..,"tflops":..}

fp32 runs with TF32 disabled (torch.backends.cuda.matmul.allow_tf32 = False, or its successor
fp32_precision = "ieee" on PyTorch >= 2.9), so it is a true fp32 GEMM like the engine's. bf16
accumulates in fp32, with reduced-precision (bf16) split-K reductions switched off as well, since
the engine's bf16 GEMM accumulates in fp32 throughout.

Timing: CUDA events around each call, after warm-up, median over --reps calls (default 30).
Inputs are not rotated: GEMMs of these sizes are compute-bound and re-read their operands from
L2 many times within one call, so what the previous call left in L2 changes little.
"""
import argparse
import json
import statistics
import time
import sys

import torch

import peer_timing

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def disable_tf32():
    """Makes fp32 matmuls true fp32 and says which switch did it. PyTorch 2.9 added
    torch.backends.cuda.matmul.fp32_precision and deprecated allow_tf32; the two must not be
    mixed, so the newer one is used when present."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
        return f"torch.backends.cuda.matmul.fp32_precision = {matmul.fp32_precision!r}"
    matmul.allow_tf32 = False
    return f"torch.backends.cuda.matmul.allow_tf32 = {matmul.allow_tf32}"


def disable_bf16_reduced_precision_reduction():
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "allow_bf16_reduced_precision_reduction"):
        matmul.allow_bf16_reduced_precision_reduction = False
        return "allow_bf16_reduced_precision_reduction = False"
    return "allow_bf16_reduced_precision_reduction not present in this torch"


def launch_overhead_us(op, reps, per_batch=2000):
    """Host microseconds per tiny op: per_batch ops, one synchronisation, median over reps batches
    (the same method as GpuBench's launch_overhead)."""
    for _ in range(5000):
        op()
    torch.cuda.synchronize()
    per_op = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            op()
        torch.cuda.synchronize()
        per_op.append((time.perf_counter() - t0) * 1e6 / per_batch)
    return statistics.median(per_op)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1024,2048,4096,8192", help="comma-separated square sizes m=n=k")
    parser.add_argument("--dtypes", default="f32,bf16", help="comma-separated: f32, bf16")
    parser.add_argument("--reps", type=int, default=30, help="timed calls per problem (median reported; at least 20)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before timing")
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    if args.reps < 20:
        parser.error("--reps must be at least 20")
    if not torch.cuda.is_available():
        print("gemm_peer: CUDA is not available to PyTorch", file=sys.stderr)
        return 1

    tf32_setting = disable_tf32()
    bf16_setting = disable_bf16_reduced_precision_reduction()
    device = torch.device(args.device)
    print(f"gemm_peer: torch {torch.__version__}, {torch.cuda.get_device_name(device)}, "
          f"TF32 disabled ({tf32_setting}): fp32 is true fp32; bf16: {bf16_setting}", file=sys.stderr)

    x = torch.ones(1, device=device)
    out = torch.empty(1, device=device)
    for impl, op in (("torch_neg_out", lambda: torch.neg(x, out=out)), ("torch_neg_alloc", lambda: torch.neg(x))):
        us = launch_overhead_us(op, args.reps)
        print(json.dumps({"bench": "launch_overhead", "impl": impl, "dtype": "f32", "m": 1, "n": 1, "k": 1,
                          "median_ms": round(us / 1e3, 6), "us": round(us, 3)}, separators=(",", ":")), flush=True)

    generator = torch.Generator(device=device).manual_seed(1234)
    for dtype_name in args.dtypes.split(","):
        dtype = DTYPES[dtype_name.strip()]
        for size in (int(s) for s in args.sizes.split(",")):
            m = n = k = size
            a = torch.randn(m, k, device=device, dtype=dtype, generator=generator)
            b = torch.randn(k, n, device=device, dtype=dtype, generator=generator)
            out = torch.empty(m, n, device=device, dtype=dtype)
            median_ms = peer_timing.median_ms(lambda: torch.matmul(a, b, out=out), args.warmup, args.reps)
            tflops = 2.0 * m * n * k / (median_ms * 1e-3) / 1e12
            print(json.dumps({"bench": "gemm", "impl": "torch", "dtype": dtype_name.strip(), "m": m, "n": n, "k": k,
                              "median_ms": round(median_ms, 5), "tflops": round(tflops, 2)},
                             separators=(",", ":")), flush=True)
            del a, b, out
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
