#!/usr/bin/env python3
"""Reads a safetensors file with the reference `safetensors` library and prints one line per
tensor, sorted by name, in the same format as the Java io.reg4rec.model.io.SafeTensorsDump:

    name DTYPE [d0,d1,...] crc32=<8 hex digits of the raw little-endian bytes> sum=<float64 sum, %.6e>

so that `diff <(python3 check_safetensors.py f) <(java ... SafeTensorsDump f)` compares the two.
Uses safetensors.torch when torch is installed (every dtype, fp8 and bf16 included), otherwise
safetensors.numpy (which cannot represent BF16 or FP8 tensors)."""
import json
import struct
import sys
import zlib

DTYPE_NAMES = {
    "float64": "F64", "float32": "F32", "bfloat16": "BF16", "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2", "int32": "I32", "int64": "I64",
}


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def lines_torch(path):
    import torch
    from safetensors.torch import load_file
    out = []
    for name, t in sorted(load_file(path).items()):
        dtype = DTYPE_NAMES[str(t.dtype).replace("torch.", "")]
        raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        total = float(t.to(torch.float64).sum()) if t.numel() else 0.0
        out.append((name, dtype, list(t.shape), raw, total))
    return out


def lines_numpy(path):
    import numpy as np
    from safetensors.numpy import load_file
    out = []
    for name, a in sorted(load_file(path).items()):
        dtype = DTYPE_NAMES[str(a.dtype)]
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        out.append((name, dtype, list(a.shape), raw, float(a.astype(np.float64).sum())))
    return out


def main():
    if len(sys.argv) != 2:
        print("usage: check_safetensors.py FILE.safetensors", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    meta = metadata(path)
    if meta:
        print("metadata {" + ", ".join(f"{k}={v}" for k, v in sorted(meta.items())) + "}")
    try:
        import torch  # noqa: F401
        rows = lines_torch(path)
    except ImportError:
        rows = lines_numpy(path)
    for name, dtype, shape, raw, total in rows:
        shape_text = "[" + ",".join(str(d) for d in shape) + "]"
        print(f"{name} {dtype} {shape_text} crc32={zlib.crc32(raw) & 0xffffffff:08x} sum={total:.6e}")


if __name__ == "__main__":
    main()
