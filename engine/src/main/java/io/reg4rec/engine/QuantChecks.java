package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Argument checks shared by the CPU and CUDA implementations of the quantization, divergence and
 * scaled-cast primitives of {@link Backend} (which no Tensor method fronts): every tensor live,
 * contiguous and on the backend's device, shapes consistent, dtypes allowed. Messages name the
 * op, the argument, its shape and dtype, and the limit broken.
 */
public final class QuantChecks {
    /** Most codebooks relaxedMatchCount compares (a path and an item row fit in registers). */
    public static final int MAX_MATCH_CODEBOOKS = 16;

    private QuantChecks() {}

    private static void tensor(String op, String name, Tensor t, Device device) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t.describe() + " used after release");
        if (!t.device().equals(device)) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " is on " + t.device() + ", not " + device);
        if (!t.isContiguous()) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " must be contiguous");
    }

    private static void shape(String op, String name, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException(op + ": " + name + " is " + t.describe() + ", expected shape " + Arrays.toString(expected));
        }
    }

    private static void rank(String op, String name, Tensor t, int rank, String layout) {
        if (t.rank() != rank) throw new IllegalArgumentException(op + ": " + name + " must be " + layout + ", got " + t.describe());
    }

    private static void dtype(String op, String name, Tensor t, DType expected) {
        if (t.dtype() != expected) throw new IllegalArgumentException(op + ": " + name + " must be " + expected + ", got " + t.describe());
    }

    /** F32, or F64 where the backend allows it (the CPU reference). */
    private static void computeType(String op, String name, Tensor t, boolean f64Allowed) {
        DType d = t.dtype();
        if (d == DType.F32 || (f64Allowed && d == DType.F64)) return;
        throw new IllegalArgumentException(op + ": " + name + " must be F32" + (f64Allowed ? " or F64" : " (F64 is CPU-only)") + ", got " + t.describe());
    }

    public static void nearestCodeword(Device device, boolean f64Allowed, Tensor z, Tensor codebooks, Tensor indices, Tensor distances) {
        String op = "nearestCodeword";
        tensor(op, "z", z, device);
        tensor(op, "codebooks", codebooks, device);
        tensor(op, "indices", indices, device);
        tensor(op, "distances", distances, device);
        rank(op, "z", z, 3, "[N, M, dc]");
        rank(op, "codebooks", codebooks, 3, "[M, D, dc]");
        computeType(op, "z", z, f64Allowed);
        dtype(op, "codebooks", codebooks, z.dtype());
        int n = z.size(0), m = z.size(1), dc = z.size(2);
        if (codebooks.size(0) != m || codebooks.size(2) != dc) {
            throw new IllegalArgumentException(op + ": codebooks " + codebooks.describe() + " do not match z " + z.describe() + " (need [M, D, dc] with M = " + m + ", dc = " + dc + ")");
        }
        if (codebooks.size(1) == 0 && n > 0 && m > 0) throw new IllegalArgumentException(op + ": codebooks " + codebooks.describe() + " have no codewords (D = 0)");
        dtype(op, "indices", indices, DType.I32);
        shape(op, "indices", indices, n, m);
        dtype(op, "distances", distances, z.dtype());
        shape(op, "distances", distances, n, m);
    }

    public static void codewordSum(Device device, boolean f64Allowed, Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        String op = "codewordSum";
        int[] nmd = codewordArgs(op, device, f64Allowed, codebooks, indices, gates);
        tensor(op, "out", out, device);
        dtype(op, "out", out, codebooks.dtype());
        shape(op, "out", out, nmd[0], nmd[2]);
    }

    public static void codewordSumBackward(Device device, boolean f64Allowed, Tensor codebooks, Tensor indices, Tensor gates,
                                           Tensor gradOut, Tensor gradCodebooks, Tensor gradGates) {
        String op = "codewordSumBackward";
        int[] nmd = codewordArgs(op, device, f64Allowed, codebooks, indices, gates);
        tensor(op, "gradOut", gradOut, device);
        tensor(op, "gradCodebooks", gradCodebooks, device);
        tensor(op, "gradGates", gradGates, device);
        for (Tensor t : new Tensor[]{gradOut, gradCodebooks, gradGates}) dtype(op, "gradients", t, codebooks.dtype());
        shape(op, "gradOut", gradOut, nmd[0], nmd[2]);
        shape(op, "gradCodebooks", gradCodebooks, codebooks.shape());
        shape(op, "gradGates", gradGates, nmd[0], nmd[1]);
    }

    /** Checks the common inputs; returns {N, M, dc}. */
    private static int[] codewordArgs(String op, Device device, boolean f64Allowed, Tensor codebooks, Tensor indices, Tensor gates) {
        tensor(op, "codebooks", codebooks, device);
        tensor(op, "indices", indices, device);
        tensor(op, "gates", gates, device);
        rank(op, "codebooks", codebooks, 3, "[M, D, dc]");
        rank(op, "indices", indices, 2, "[N, M]");
        computeType(op, "codebooks", codebooks, f64Allowed);
        dtype(op, "indices", indices, DType.I32);
        dtype(op, "gates", gates, codebooks.dtype());
        int n = indices.size(0), m = indices.size(1);
        if (codebooks.size(0) != m) throw new IllegalArgumentException(op + ": indices " + indices.describe() + " name " + m + " codebooks, codebooks are " + codebooks.describe());
        if (codebooks.size(1) == 0 && n > 0 && m > 0) throw new IllegalArgumentException(op + ": codebooks " + codebooks.describe() + " have no codewords (D = 0)");
        shape(op, "gates", gates, n, m);
        return new int[]{n, m, codebooks.size(2)};
    }

    public static void relaxedMatchCount(Device device, Tensor paths, Tensor items, Tensor counts) {
        String op = "relaxedMatchCount";
        tensor(op, "paths", paths, device);
        tensor(op, "items", items, device);
        tensor(op, "counts", counts, device);
        rank(op, "paths", paths, 2, "[P, M]");
        rank(op, "items", items, 2, "[N, M]");
        dtype(op, "paths", paths, DType.I32);
        dtype(op, "items", items, DType.I32);
        dtype(op, "counts", counts, DType.I32);
        int m = paths.size(1);
        if (items.size(1) != m) throw new IllegalArgumentException(op + ": paths " + paths.describe() + " and items " + items.describe() + " differ in the number of codebooks");
        if (m > MAX_MATCH_CODEBOOKS) throw new IllegalArgumentException(op + ": " + m + " codebooks exceed the limit of " + MAX_MATCH_CODEBOOKS + " (paths " + paths.describe() + ")");
        shape(op, "counts", counts, paths.size(0), items.size(0));
    }

    /** jsDivergence / klDivergence: p, q [R, C], out [R]. */
    public static void divergence(String op, Device device, boolean f64Allowed, Tensor p, Tensor q, Tensor out) {
        tensor(op, "p", p, device);
        tensor(op, "q", q, device);
        tensor(op, "out", out, device);
        rank(op, "p", p, 2, "[R, C]");
        computeType(op, "p", p, f64Allowed);
        dtype(op, "q", q, p.dtype());
        dtype(op, "out", out, p.dtype());
        shape(op, "q", q, p.shape());
        shape(op, "out", out, p.size(0));
    }

    public static void jsDivergenceBackward(Device device, boolean f64Allowed, Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ) {
        String op = "jsDivergenceBackward";
        divergence(op, device, f64Allowed, p, q, gradOut);
        tensor(op, "gradP", gradP, device);
        tensor(op, "gradQ", gradQ, device);
        dtype(op, "gradP", gradP, p.dtype());
        dtype(op, "gradQ", gradQ, p.dtype());
        shape(op, "gradP", gradP, p.shape());
        shape(op, "gradQ", gradQ, p.shape());
    }

    public static void amax(Device device, boolean f64Allowed, Tensor x, Tensor out) {
        String op = "amax";
        tensor(op, "x", x, device);
        tensor(op, "out", out, device);
        if (!x.dtype().isFloating() || (!f64Allowed && x.dtype() == DType.F64)) {
            throw new IllegalArgumentException(op + ": x must be a floating dtype" + (f64Allowed ? "" : " other than F64") + ", got " + x.describe());
        }
        dtype(op, "out", out, DType.F32);
        shape(op, "out", out, 1);
    }

    public static void castScaled(Device device, Tensor src, Tensor dst, Tensor scale) {
        String op = "castScaled";
        tensor(op, "src", src, device);
        tensor(op, "dst", dst, device);
        tensor(op, "scale", scale, device);
        dtype(op, "scale", scale, DType.F32);
        shape(op, "scale", scale, 1);
        shape(op, "dst", dst, src.shape());
        boolean narrowing = src.dtype() == DType.F32 && isLowPrecision(dst.dtype());
        boolean widening = isLowPrecision(src.dtype()) && dst.dtype() == DType.F32;
        if (!narrowing && !widening) {
            throw new IllegalArgumentException(op + ": supports F32 -> F8E4M3 / F8E5M2 / BF16 and back, got " + src.describe() + " -> " + dst.describe());
        }
    }

    private static boolean isLowPrecision(DType t) {
        return t == DType.F8E4M3 || t == DType.F8E5M2 || t == DType.BF16;
    }
}
