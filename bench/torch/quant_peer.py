#!/usr/bin/env python3
"""PyTorch side-by-side peer for io.reg4rec.bench.gpu.QuantBench.

Times, on one CUDA device, the same computations with plain torch ops and prints one JSON object
per line with QuantBench's keys ("impl":"torch"):
  {"bench","impl","dtype","shape","bytes","median_ms","gbps","fraction_of_copy"[,"tflops"]}
bytes is the same count QuantBench uses (what the computation must read and write once), so
gbps compares directly even where torch moves more data (e.g. temporaries of composed ops).

  copy                 dst.copy_(src), fp32 (bytes = read + write)
  cast_scaled          (x * scale).clamp(-max, max).to(float8_e4m3fn) / .to(bfloat16), and back
                       y.to(float32) * scale (the scale is a one-element device tensor)
  amax                 torch.amax(x.abs()) (fp32), and of the fp8 tensor via .float()
  js_divergence        m = (p + q) / 2; 0.5 * (xlogy(p, p/m) + xlogy(q, q/m)).sum(1), and its
                       autograd backward w.r.t. p and q
  nearest_codeword     per codebook: scores = ||c||^2 - 2 z @ c^T (batched bmm over M, fp32
                       with TF32 off), argmin, then the gathered distance
  codeword_sum         (gates[..., None] * C[m, idx]).sum(1) via index gathering, and its
                       autograd backward w.r.t. C (index_add) and gates
  relaxed_match_count  (paths[:, None, :] == items[None, :, :]).sum(-1, dtype=int32)

Timing: CUDA events around each call after warm-up, median over --reps (default 20).
"""
import argparse
import json

import torch

from peer_timing import median_ms

DEV = "cuda"




class Peer:
    def __init__(self, reps):
        self.reps = reps
        self.copy_gbps = float("nan")

    def emit(self, bench, dtype, shape, nbytes, ms, tflops=None):
        gbps = nbytes / (ms * 1e-3) / 1e9
        rec = {"bench": bench, "impl": "torch", "dtype": dtype, "shape": list(shape), "bytes": int(nbytes),
               "median_ms": round(ms, 6), "gbps": round(gbps, 2), "fraction_of_copy": round(gbps / self.copy_gbps, 4)}
        if tflops is not None:
            rec["tflops"] = round(tflops, 3)
        print(json.dumps(rec, separators=(",", ":")), flush=True)

    def time(self, fn):
        return median_ms(fn, reps=self.reps)

    def copy(self, n):
        a = torch.zeros(n, device=DEV)
        b = torch.empty_like(a)
        ms = self.time(lambda: b.copy_(a))
        self.copy_gbps = 2 * n * 4 / (ms * 1e-3) / 1e9
        self.emit("copy", "f32", [n], 2 * n * 4, ms)

    def casts(self, n):
        x = torch.randn(n, device=DEV)
        scale = torch.full((1,), 0.75, device=DEV)
        for name, dt, fmax in (("e4m3", torch.float8_e4m3fn, 448.0), ("bf16", torch.bfloat16, None)):
            size = torch.tensor([], dtype=dt).element_size()
            nbytes = n * (4 + size)
            if fmax is not None:
                narrow = lambda: (x * scale).clamp_(-fmax, fmax).to(dt)
            else:
                narrow = lambda: (x * scale).to(dt)
            self.emit("cast_scaled", f"f32->{name}", [n], nbytes, self.time(narrow))
            y = narrow()
            self.emit("cast_scaled", f"{name}->f32", [n], nbytes, self.time(lambda: y.to(torch.float32) * scale))

    def amax(self, n):
        x = torch.randn(n, device=DEV)
        self.emit("amax", "f32", [n], n * 4, self.time(lambda: torch.amax(x.abs())))
        x8 = x.to(torch.float8_e4m3fn)
        self.emit("amax", "e4m3", [n], n, self.time(lambda: torch.amax(x8.float().abs())))

    def js(self, n, cols):
        rows = n // cols
        p = torch.rand(rows, cols, device=DEV)
        q = torch.rand(rows, cols, device=DEV)

        def js_fn(a, b):
            m = (a + b) * 0.5
            return 0.5 * (torch.xlogy(a, a / m) + torch.xlogy(b, b / m)).sum(1)

        nbytes = 2 * rows * cols * 4 + rows * 4
        with torch.no_grad():
            self.emit("js_divergence", "f32", [rows, cols], nbytes, self.time(lambda: js_fn(p, q)))
        pg = p.clone().requires_grad_()
        qg = q.clone().requires_grad_()
        g = torch.ones(rows, device=DEV)

        def backward():
            out = js_fn(pg, qg)
            torch.autograd.grad(out, (pg, qg), g)

        self.emit("js_divergence_backward", "f32", [rows, cols], 2 * nbytes, self.time(backward))
        del pg, qg

    def nearest_codeword(self, n, m, d, dc):
        z = torch.randn(n, m, dc, device=DEV)
        c = torch.randn(m, d, dc, device=DEV)
        cn = (c * c).sum(-1)  # [m, d]

        def lookup():
            zt = z.transpose(0, 1)  # [m, n, dc]
            scores = torch.baddbmm(cn[:, None, :], zt, c.transpose(1, 2), alpha=-2.0)  # [m, n, d]
            idx = scores.argmin(-1)  # [m, n]
            chosen = torch.gather(c, 1, idx[..., None].expand(m, n, dc))
            dist = ((zt - chosen) ** 2).sum(-1)
            return idx.t(), dist.t()

        with torch.no_grad():
            ms = self.time(lookup)
        nbytes = n * m * dc * 4 + m * d * dc * 4 + n * m * 8
        self.emit("nearest_codeword", "f32", [n, m, d, dc], nbytes, ms, 2.0 * n * m * d * dc / (ms * 1e-3) / 1e12)

    def codeword_sum(self, n, m, d, dc):
        c = torch.randn(m, d, dc, device=DEV)
        gates = torch.rand(n, m, device=DEV)
        idx = torch.randint(0, d, (n, m), device=DEV)
        flat = idx + torch.arange(m, device=DEV)[None, :] * d  # rows of c viewed as [m * d, dc]

        def forward(cc, gg):
            return (gg[..., None] * cc.reshape(m * d, dc)[flat]).sum(1)

        with torch.no_grad():
            self.emit("codeword_sum", "f32", [n, m, d, dc], n * m * 8 + n * dc * 4, self.time(lambda: forward(c, gates)))
        cg = c.clone().requires_grad_()
        gg = gates.clone().requires_grad_()
        go = torch.randn(n, dc, device=DEV)

        def backward():
            out = forward(cg, gg)
            torch.autograd.grad(out, (cg, gg), go)

        self.emit("codeword_sum_backward", "f32", [n, m, d, dc], n * m * 12 + n * dc * 4, self.time(backward))

    def relaxed_match_count(self, p, n, m):
        paths = torch.randint(0, 300, (p, m), device=DEV, dtype=torch.int32)
        items = torch.randint(0, 300, (n, m), device=DEV, dtype=torch.int32)
        nbytes = p * n * 4 + (p + n) * m * 4
        self.emit("relaxed_match_count", "i32", [p, n, m], nbytes,
                  self.time(lambda: (paths[:, None, :] == items[None, :, :]).sum(-1, dtype=torch.int32)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elements", type=int, default=1 << 28)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
    peer = Peer(max(5, args.reps))
    n = args.elements
    peer.copy(n)
    peer.casts(n)
    peer.amax(n)
    for cols in (8, 64, 1000):
        peer.js(n, cols)
        torch.cuda.empty_cache()
    peer.nearest_codeword(1 << 20, 8, 300, 64)
    torch.cuda.empty_cache()
    peer.codeword_sum(1 << 20, 8, 300, 64)
    torch.cuda.empty_cache()
    peer.relaxed_match_count(2000, 12101, 8)


if __name__ == "__main__":
    main()
