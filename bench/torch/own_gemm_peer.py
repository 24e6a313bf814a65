#!/usr/bin/env python3
"""PyTorch peer of io.reg4rec.bench.gpu.OwnGemmBench: the same problems, the same JSON keys.

bf16: torch.matmul (cuBLAS / cuBLASLt) with bf16 output, fp32 accumulation and reduced-precision
split-K reductions off; a transposed operand is passed as a .t() view of its stored matrix, so
cuBLAS sees the same layout the engine gets. fp8: torch._scaled_mm (cuBLASLt) with E4M3 x E4M3,
per-tensor fp32 scales and bf16 output, A [m, k] row-major and B stored [n, k] (passed as its
.t() view, the column-major operand _scaled_mm requires) -- skipped with a note when this torch
has no _scaled_mm or the GPU no fp8.

Prints one JSON object per line:
  {"bench":"gemm_<problem>","impl":"torch","dtype":"bf16"|"e4m3","m":..,"n":..,"k":..,
   "ta":..,"tb":..,"median_ms":..,"tflops":..}
Timing: CUDA events around each call after warm-up, median over --reps calls (at least 20).
"""
import argparse
import json
import sys

import torch

from peer_timing import median_ms

# (name, m, n, k, ta, tb): op(A) is m x k, op(B) k x n; ta / tb: stored transposed.
PROBLEMS = [
    ("square", 1024, 1024, 1024, False, False),
    ("square", 4096, 4096, 4096, False, False),
    ("square", 8192, 8192, 8192, False, False),
    ("linear1_fwd", 51200, 640, 128, False, False),
    ("linear1_dx", 51200, 128, 640, False, True),
    ("linear1_dw", 128, 640, 51200, True, False),
    ("linear2_fwd", 51200, 128, 640, False, False),
    ("linear2_dx", 51200, 640, 128, False, True),
    ("linear2_dw", 640, 128, 51200, True, False),
]




def operand(rows, cols, transposed, dtype, device, generator):
    """op(X) of rows x cols as a view of its stored matrix (stored cols x rows when transposed)."""
    if transposed:
        return torch.randn(cols, rows, device=device, dtype=dtype, generator=generator).t()
    return torch.randn(rows, cols, device=device, dtype=dtype, generator=generator)


def emit(name, dtype, m, n, k, ta, tb, ms):
    tflops = 2.0 * m * n * k / (ms * 1e-3) / 1e12
    print(json.dumps({"bench": f"gemm_{name}", "impl": "torch", "dtype": dtype, "m": m, "n": n, "k": k, "ta": ta, "tb": tb,
                      "median_ms": round(ms, 6), "tflops": round(tflops, 3)}, separators=(",", ":")), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    if args.reps < 20:
        parser.error("--reps must be at least 20")
    if not torch.cuda.is_available():
        print("own_gemm_peer: CUDA is not available to PyTorch", file=sys.stderr)
        return 1
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "allow_bf16_reduced_precision_reduction"):
        matmul.allow_bf16_reduced_precision_reduction = False
    device = torch.device(args.device)
    capability = torch.cuda.get_device_capability(device)
    fp8 = hasattr(torch, "_scaled_mm") and hasattr(torch, "float8_e4m3fn") and capability >= (8, 9)
    print(f"own_gemm_peer: torch {torch.__version__}, {torch.cuda.get_device_name(device)}, capability {capability}, "
          f"fp8 via torch._scaled_mm: {fp8}", file=sys.stderr)
    generator = torch.Generator(device=device).manual_seed(1234)

    for name, m, n, k, ta, tb in PROBLEMS:
        a = operand(m, k, ta, torch.bfloat16, device, generator)
        b = operand(k, n, tb, torch.bfloat16, device, generator)
        out = torch.empty(m, n, device=device, dtype=torch.bfloat16)
        emit(name, "bf16", m, n, k, ta, tb, median_ms(lambda: torch.matmul(a, b, out=out), args.warmup, args.reps))
        del a, b, out
        if fp8:
            a8 = torch.randn(m, k, device=device, generator=generator).to(torch.float8_e4m3fn)
            b8 = torch.randn(n, k, device=device, generator=generator).to(torch.float8_e4m3fn).t()
            scale_a = torch.tensor(0.5, device=device)
            scale_b = torch.tensor(2.0, device=device)
            run = lambda: torch._scaled_mm(a8, b8, scale_a=scale_a, scale_b=scale_b, out_dtype=torch.bfloat16)
            emit(name, "e4m3", m, n, k, False, True, median_ms(run, args.warmup, args.reps))
            del a8, b8
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
