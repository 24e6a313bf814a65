package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.GemmArguments;
import io.reg4rec.engine.Tensor;

/**
 * CPU references of {@link io.reg4rec.engine.Backend#matmulScaled} and
 * {@link io.reg4rec.engine.Backend#matmulEpilogue}, composed from the CPU backend's own ops so
 * they share its tested arithmetic: fp8 operands decode exactly to F64 (every fp8 value is a
 * double) and multiply in F64; bf16 operands widen exactly to F32, multiply with fp32
 * accumulation, and the epilogue runs on the F32 product. Each result is rounded once into out.
 */
final class CpuFusedGemm {
    private CpuFusedGemm() {}

    static void matmulScaled(Tensor a, boolean ta, Tensor b, boolean tb, Tensor aScale, Tensor bScale, Tensor out) {
        GemmArguments.checkScaled(a, ta, b, tb, aScale, bScale, out);
        double scale = aScale.item() * bScale.item();
        try (Tensor a64 = a.to(DType.F64); Tensor b64 = b.to(DType.F64);
             Tensor product = product(a64, ta, b64, tb, out.shape());
             Tensor scaled = product.mul(scale)) {
            out.copyFrom(scaled);
        }
    }

    static void matmulEpilogue(Tensor a, boolean ta, Tensor b, boolean tb, Tensor bias, boolean gelu, Tensor residual, Tensor out) {
        GemmArguments.checkEpilogue(a, ta, b, tb, bias, residual, out);
        try (Tensor a32 = a.to(DType.F32); Tensor b32 = b.to(DType.F32)) {
            Tensor v = product(a32, ta, b32, tb, out.shape());
            if (bias != null) v = replace(v, plus(v, bias));
            if (gelu) v = replace(v, v.gelu());
            if (residual != null) v = replace(v, plus(v, residual));
            try (Tensor result = v) {
                out.copyFrom(result);
            }
        }
    }

    /** op(a) op(b) as a [batch, m, n] tensor of the operands' dtype (batch-1 operands broadcast). */
    private static Tensor product(Tensor a, boolean ta, Tensor b, boolean tb, int[] outShape) {
        try (Tensor opA = ta ? a.transpose(1, 2) : a.transpose(1, 1); Tensor opB = tb ? b.transpose(1, 2) : b.transpose(1, 1);
             Tensor p = opA.matmul(opB)) {
            return p.shape()[0] == outShape[0] ? p.contiguous() : p.expand(outShape).contiguous();
        }
    }

    private static Tensor plus(Tensor v, Tensor term) {
        try (Tensor t32 = term.to(DType.F32)) {
            return v.add(t32);
        }
    }

    private static Tensor replace(Tensor old, Tensor next) {
        old.close();
        return next;
    }
}
