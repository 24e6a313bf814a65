#!/usr/bin/env python3
"""PyTorch side-by-side peer for the engine's attention benchmark (io.reg4rec.bench.gpu.AttentionBench).

Times torch.nn.functional.scaled_dot_product_attention, forward and forward + backward (autograd
on q, k, v with a fixed random output gradient), at the same shapes, dtypes and masks as
AttentionBench, and prints one JSON object per line with its fields:
  {"bench":"attention_fwd"|"attention_fwd_bwd","impl":"torch","dtype":"f32"|"bf16","shape":..,
   "batch":..,"heads":..,"tq":..,"tk":..,"hd":..,"causal":..,"padded":..,"median_ms":..,"tflops":..}

Masks: key padding rows follow AttentionBench's rule (the last (37 b) mod (Tk // 5 + 1) keys of
batch row b are padding). With padding, the boolean attn_mask [B, 1, Tq, Tk] (True = may attend)
combines padding and, for causal, the bottom-right aligned causal mask; it is built once, outside
the timed region, as the engine's launcher builds its padding tensor once. Causal without padding
passes is_causal=True (Tq == Tk there). SDPA picks its own backend (flash, memory-efficient, math)
for each case; the chosen one is reported on stderr when torch can tell.

fp32 runs with TF32 disabled, so fp32 math stays fp32 as in the engine's kernels.
Timing: CUDA events around each call after warm-up, median over --reps calls (default 30).
"""
import argparse
import json
import sys

import torch

from peer_timing import median_ms
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}

# name, batch, heads, tq, tk, hd, causal, padded (as AttentionBench.SHAPES)
SHAPES = [
    ("encoder_self", 1024, 4, 50, 50, 32, False, True),
    ("decoder_self", 1024, 4, 9, 9, 32, True, True),
    ("cross", 1024, 4, 9, 50, 32, False, True),
    ("long", 16, 8, 1024, 1024, 64, False, False),
    ("long_causal", 16, 8, 1024, 1024, 64, True, False),
    ("decode", 16, 8, 1, 1024, 64, False, False),
]


def disable_tf32():
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
    if hasattr(torch.backends.cudnn, "allow_tf32"):
        torch.backends.cudnn.allow_tf32 = False


def padding_flags(batch, tk, device):
    """[B, Tk] bool, True where the key is padding."""
    flags = torch.zeros(batch, tk, dtype=torch.bool)
    for b in range(batch):
        padded = (37 * b) % (tk // 5 + 1)
        if padded:
            flags[b, tk - padded:] = True
    return flags.to(device)


def attend_mask(batch, tq, tk, causal, padded, device):
    """The boolean attn_mask [B, 1, Tq, Tk] (True = may attend), or None for no / causal-only masking."""
    if not padded:
        return None
    allowed = ~padding_flags(batch, tk, device).view(batch, 1, 1, tk)
    if causal:
        i = torch.arange(tq, device=device).view(tq, 1)
        j = torch.arange(tk, device=device).view(1, tk)
        allowed = allowed & (j <= i + (tk - tq)).view(1, 1, tq, tk)
    return allowed.expand(batch, 1, tq, tk).contiguous()


def visible_pairs(tq, tk, causal):
    if not causal:
        return tq * tk
    return sum(max(0, min(tk, i + tk - tq + 1)) for i in range(tq))




def emit(bench, name, dtype, batch, heads, tq, tk, hd, causal, padded, ms, flops):
    print(json.dumps({
        "bench": bench, "impl": "torch", "dtype": dtype, "shape": name,
        "batch": batch, "heads": heads, "tq": tq, "tk": tk, "hd": hd,
        "causal": causal, "padded": padded,
        "median_ms": round(ms, 6), "tflops": round(flops / (ms * 1e-3) / 1e12, 3),
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("attention_peer: CUDA is not available", file=sys.stderr)
        sys.exit(1)
    disable_tf32()
    device = torch.device("cuda")
    print(f"attention_peer: torch {torch.__version__} on {torch.cuda.get_device_name(0)}", file=sys.stderr)
    torch.manual_seed(0)
    for name, batch, heads, tq, tk, hd, causal, padded in SHAPES:
        for dname, dtype in DTYPES.items():
            q = torch.randn(batch, heads, tq, hd, device=device, dtype=dtype, requires_grad=True)
            k = torch.randn(batch, heads, tk, hd, device=device, dtype=dtype, requires_grad=True)
            v = torch.randn(batch, heads, tk, hd, device=device, dtype=dtype, requires_grad=True)
            grad_out = torch.randn(batch, heads, tq, hd, device=device, dtype=dtype)
            mask = attend_mask(batch, tq, tk, causal, padded, device)
            is_causal = causal and mask is None
            scale = 1.0 / hd ** 0.5

            def forward():
                return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, scale=scale)

            def forward_no_grad():
                with torch.no_grad():
                    forward()

            def forward_backward():
                out = forward()
                torch.autograd.grad(out, (q, k, v), grad_out)

            fwd_flops = 4.0 * batch * heads * visible_pairs(tq, tk, causal) * hd
            ms = median_ms(forward_no_grad, args.warmup, args.reps)
            emit("attention_fwd", name, dname, batch, heads, tq, tk, hd, causal, padded, ms, fwd_flops)
            if name == "decode":
                continue
            ms = median_ms(forward_backward, args.warmup, args.reps)
            emit("attention_fwd_bwd", name, dname, batch, heads, tq, tk, hd, causal, padded, ms, 3.5 * fwd_flops)
            del q, k, v, grad_out, mask
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
