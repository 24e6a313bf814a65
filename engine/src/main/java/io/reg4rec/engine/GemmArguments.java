package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Argument checks shared by every backend's {@link Backend#matmulScaled} and
 * {@link Backend#matmulEpilogue}: these entries are called directly (no {@link Tensor} method
 * validates first), so each backend validates with these rules and reports the same messages.
 *
 * <p>a and b are the stored matrices, rank 3 [batch or 1, rows, cols], any strides: op(a) is a
 * (m x k) or, with its transpose flag, a's transpose; likewise op(b) is k x n. out is contiguous
 * [batch, m, n]; an operand with batch 1 broadcasts over out's batch.
 */
public final class GemmArguments {
    public final int batch, m, n, k;

    private GemmArguments(int batch, int m, int n, int k) {
        this.batch = batch;
        this.m = m;
        this.n = n;
        this.k = k;
    }

    /** Shapes, devices and ranks of the product out = op(a) op(b). */
    public static GemmArguments check(String op, Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor out) {
        for (Tensor t : new Tensor[]{a, b, out}) {
            if (t.rank() != 3) throw new IllegalArgumentException(op + ": operands must be rank 3 [batch, rows, cols], got " + t.describe());
            if (!t.device().equals(out.device())) {
                throw new IllegalArgumentException(op + ": " + t.describe() + " is on " + t.device() + ", out on " + out.device());
            }
        }
        if (!out.isContiguous()) throw new IllegalArgumentException(op + ": out " + out.describe() + " must be contiguous");
        int[] as = a.shape(), bs = b.shape(), os = out.shape();
        int batch = os[0], m = os[1], n = os[2];
        int am = transposeA ? as[2] : as[1], ak = transposeA ? as[1] : as[2];
        int bk = transposeB ? bs[2] : bs[1], bn = transposeB ? bs[1] : bs[2];
        if (am != m || bn != n || ak != bk || (as[0] != batch && as[0] != 1) || (bs[0] != batch && bs[0] != 1)) {
            throw new IllegalArgumentException(op + ": shapes do not match: " + a.describe() + (transposeA ? "^T" : "") + " x "
                    + b.describe() + (transposeB ? "^T" : "") + " -> " + out.describe());
        }
        return new GemmArguments(batch, m, n, ak);
    }

    /** Rules of {@link Backend#matmulEpilogue}: dtypes, bias [n] and residual [batch or 1, m, n]. */
    public static GemmArguments checkEpilogue(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor bias, Tensor residual, Tensor out) {
        String op = "matmulEpilogue";
        GemmArguments g = check(op, a, transposeA, b, transposeB, out);
        if (a.dtype() != DType.BF16 || b.dtype() != DType.BF16) {
            throw new IllegalArgumentException(op + ": operands must be BF16, got " + a.describe() + " x " + b.describe());
        }
        checkFloatOut(op, out);
        if (bias != null) {
            if (bias.rank() != 1 || bias.size(0) != g.n) {
                throw new IllegalArgumentException(op + ": bias must have shape [" + g.n + "] (out's columns), got " + bias.describe());
            }
            checkEpilogueOperand(op, "bias", bias, out);
        }
        if (residual != null) {
            int[] rs = residual.shape();
            if (residual.rank() != 3 || (rs[0] != g.batch && rs[0] != 1) || rs[1] != g.m || rs[2] != g.n) {
                throw new IllegalArgumentException(op + ": residual must have shape [" + g.batch + " or 1, " + g.m + ", " + g.n + "], got "
                        + residual.describe());
            }
            checkEpilogueOperand(op, "residual", residual, out);
        }
        return g;
    }

    /** Rules of {@link Backend#matmulScaled}: fp8 operand types and fp32 scalar scales. */
    public static GemmArguments checkScaled(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor aScale, Tensor bScale, Tensor out) {
        String op = "matmulScaled";
        GemmArguments g = check(op, a, transposeA, b, transposeB, out);
        if (!isFp8(a.dtype()) || !isFp8(b.dtype())) {
            throw new IllegalArgumentException(op + ": operands must be F8E4M3 or F8E5M2, got " + a.describe() + " x " + b.describe());
        }
        if (a.dtype() == DType.F8E5M2 && b.dtype() == DType.F8E5M2) {
            throw new IllegalArgumentException(op + ": at most one operand may be F8E5M2 (E5M2 is for gradients: E5M2 x E4M3 or E4M3 x E5M2), got "
                    + a.describe() + " x " + b.describe());
        }
        checkFloatOut(op, out);
        for (Tensor s : new Tensor[]{aScale, bScale}) {
            if (s == null || s.dtype() != DType.F32 || s.numel() != 1 || !s.device().equals(out.device())) {
                throw new IllegalArgumentException(op + ": scales must be one-element F32 tensors on " + out.device() + ", got "
                        + (s == null ? "null" : s.describe() + " on " + s.device()));
            }
        }
        return g;
    }

    private static boolean isFp8(DType t) { return t == DType.F8E4M3 || t == DType.F8E5M2; }

    private static void checkFloatOut(String op, Tensor out) {
        if (out.dtype() != DType.BF16 && out.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + ": out must be BF16 or F32, got " + out.describe());
        }
    }

    private static void checkEpilogueOperand(String op, String what, Tensor t, Tensor out) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(op + ": " + what + " must be F32 or BF16, got " + t.describe());
        }
        if (!t.device().equals(out.device())) {
            throw new IllegalArgumentException(op + ": " + what + " " + t.describe() + " is on " + t.device() + ", out on " + out.device());
        }
    }

    @Override
    public String toString() { return "GEMM " + Arrays.toString(new int[]{batch, m, n, k}) + " (batch, m, n, k)"; }
}
