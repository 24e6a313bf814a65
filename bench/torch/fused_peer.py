#!/usr/bin/env python3
"""PyTorch side-by-side peer for io.reg4rec.bench.gpu.FusedOpsBench: layer norm and softmax
cross-entropy (label smoothing 0.1, ignore_index -100, per-row losses) forward and forward +
backward, on the same shapes, printing one JSON object per line with the same keys:
  {"bench":"layernorm_fwd"|"layernorm_fwd_bwd"|"cross_entropy_fwd"|"cross_entropy_fwd_bwd",
   "impl":"torch","dtype":"f32"|"bf16","rows":R,"cols":C,"median_ms":..,"gbps":..}
gbps uses FusedOpsBench's byte counts (layer norm: 2 / 5 passes over [R, C]; cross-entropy: 1 / 3
passes over the logits), so the two compare on one scale.

Timing: CUDA events around each call after warm-up, median over --reps calls (default 50).
Forward + backward runs torch.nn.functional.layer_norm / cross_entropy with inputs that require
grad and calls backward with a fixed output gradient, as the engine's fused path computes the
input (and gamma / beta) gradients.
"""
import argparse
import json

import torch

from peer_timing import median_ms
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}
LAYER_NORM_SHAPES = [(51200, 128), (4096, 1024)]
CROSS_ENTROPY_SHAPES = [(2560, 300), (12800, 300), (256, 12102)]
SMOOTHING = 0.1




def emit(bench, dtype, rows, cols, ms, nbytes):
    print(json.dumps({"bench": bench, "impl": "torch", "dtype": dtype, "rows": rows, "cols": cols,
                      "median_ms": round(ms, 6), "gbps": round(nbytes / (ms * 1e-3) / 1e9, 1)}), flush=True)


def layer_norm(name, dtype, rows, cols, reps):
    dev = "cuda"
    x = torch.randn(rows, cols, device=dev, dtype=dtype, requires_grad=True)
    dy = torch.randn(rows, cols, device=dev, dtype=dtype)
    w = torch.ones(cols, device=dev, dtype=dtype, requires_grad=True)
    b = torch.zeros(cols, device=dev, dtype=dtype, requires_grad=True)
    elements = rows * cols * x.element_size()

    def fwd():
        with torch.no_grad():
            F.layer_norm(x, (cols,), w, b, 1e-5)

    def fwd_bwd():
        x.grad = w.grad = b.grad = None
        F.layer_norm(x, (cols,), w, b, 1e-5).backward(dy)

    emit("layernorm_fwd", name, rows, cols, median_ms(fwd, 5, reps), 2 * elements)
    emit("layernorm_fwd_bwd", name, rows, cols, median_ms(fwd_bwd, 5, reps), 5 * elements)


def cross_entropy(name, dtype, rows, classes, reps):
    dev = "cuda"
    g = torch.Generator(device="cpu").manual_seed(4)
    logits = (2 * torch.randn(rows, classes, generator=g)).to(dev, dtype).requires_grad_(True)
    targets = torch.randint(0, classes, (rows,), generator=g)
    targets[9::10] = -100
    targets = targets.to(dev)
    grad_losses = torch.full((rows,), 1.0 / rows, device=dev, dtype=dtype)
    nbytes = rows * classes * logits.element_size()

    def fwd():
        with torch.no_grad():
            F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=SMOOTHING, reduction="none")

    def fwd_bwd():
        logits.grad = None
        F.cross_entropy(logits, targets, ignore_index=-100, label_smoothing=SMOOTHING, reduction="none").backward(grad_losses)

    emit("cross_entropy_fwd", name, rows, classes, median_ms(fwd, 5, reps), nbytes)
    emit("cross_entropy_fwd_bwd", name, rows, classes, median_ms(fwd_bwd, 5, reps), 3 * nbytes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("fused_peer: CUDA is not available")
    for name, dtype in DTYPES.items():
        for rows, cols in LAYER_NORM_SHAPES:
            layer_norm(name, dtype, rows, cols, args.reps)
        for rows, classes in CROSS_ENTROPY_SHAPES:
            cross_entropy(name, dtype, rows, classes, args.reps)


if __name__ == "__main__":
    main()
