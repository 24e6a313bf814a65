package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Fused scaled dot-product attention over [batch, heads, time, headDim] tensors: the argument
 * rules both backends check, and allocating front ends for {@link Backend#attentionForward} and
 * {@link Backend#attentionBackward}.
 *
 * <h2>Definition</h2>
 * For each batch b, head h and query i: s_ij = scale * q_i . k_j over the keys j query i may see;
 * out_i = sum_j softmax(s_i)_j v_j and logSumExp_i = log sum_j exp(s_ij). Key j is hidden from
 * query i when keyPadding[b, j] != 0, or, with causal, when j > i + (Tk - Tq) (bottom-right
 * aligned: with Tq == Tk this is the usual j > i; a few new queries against a longer key/value
 * cache see the whole cache up to their own position).
 *
 * <p>A query row that sees no key at all (every key padded, or causal with Tq > Tk) is defined
 * as out_i = 0 and logSumExp_i = -inf; it passes no gradient to q, k or v.
 *
 * <h2>Arguments</h2>
 * q [B, H, Tq, hd]; k and v [B, H, Tk, hd]; q, k, v (and out and gradOut where they are inputs)
 * may be strided views whose last dimension is contiguous (stride 1), e.g. k = cache[.., 0:len, ..].
 * keyPadding null or [B, Tk] of any numeric dtype, any strides. q, k, v, out, gradOut and the
 * gradients share one floating dtype; logSumExp is F32 (F64 when the inputs are F64, so that
 * gradient checks keep full precision). Outputs are contiguous. The CPU accepts F64, F32 and BF16
 * and any head dim; CUDA accepts F32 and BF16 with head dims {@link #CUDA_HEAD_DIMS}.
 */
public final class Attention {
    /** Head dims the CUDA kernels are compiled for. */
    public static final int[] CUDA_HEAD_DIMS = {32, 64, 128};

    private Attention() {}

    /** out [B, H, Tq, hd] and logSumExp [B, H, Tq] of one forward call; the caller owns both. */
    public record Result(Tensor out, Tensor logSumExp) implements AutoCloseable {
        @Override
        public void close() {
            out.close();
            logSumExp.close();
        }
    }

    /** gradQ, gradK, gradV of one backward call; the caller owns them. */
    public record Gradients(Tensor gradQ, Tensor gradK, Tensor gradV) implements AutoCloseable {
        @Override
        public void close() {
            gradQ.close();
            gradK.close();
            gradV.close();
        }
    }

    /** Whether the fused op runs for inputs of this dtype and head dim on this device (callers fall back to composed ops otherwise). */
    public static boolean supports(Device device, DType dtype, int headDim) {
        if (!device.isCuda()) return dtype == DType.F64 || dtype == DType.F32 || dtype == DType.BF16;
        if (dtype != DType.F32 && dtype != DType.BF16) return false;
        for (int d : CUDA_HEAD_DIMS) if (d == headDim) return true;
        return false;
    }

    /** The dtype of logSumExp for inputs of dtype t. */
    public static DType logSumExpType(DType t) {
        return t == DType.F64 ? DType.F64 : DType.F32;
    }

    /** Allocates out and logSumExp and runs the forward on q's backend. Inputs with a non-unit last stride are copied. */
    public static Result forward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale) {
        try (Tensor qc = lastDimContiguous(q); Tensor kc = lastDimContiguous(k); Tensor vc = lastDimContiguous(v)) {
            checkInputs("attentionForward", qc, kc, vc, keyPadding, scale);
            int b = q.size(0), h = q.size(1), tq = q.size(2), hd = q.size(3);
            Tensor out = Tensor.empty(q.device(), q.dtype(), b, h, tq, hd);
            Tensor lse = Tensor.empty(q.device(), logSumExpType(q.dtype()), b, h, tq);
            q.backend().attentionForward(qc, kc, vc, keyPadding, causal, scale, out, lse);
            return new Result(out, lse);
        }
    }

    /** Allocates the three gradients and runs the backward on q's backend. */
    public static Gradients backward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out,
                                     Tensor gradOut, Tensor logSumExp) {
        try (Tensor qc = lastDimContiguous(q); Tensor kc = lastDimContiguous(k); Tensor vc = lastDimContiguous(v);
             Tensor oc = lastDimContiguous(out); Tensor gc = lastDimContiguous(gradOut)) {
            Tensor gq = Tensor.empty(q.device(), q.dtype(), q.shape());
            Tensor gk = Tensor.empty(k.device(), k.dtype(), k.shape());
            Tensor gv = Tensor.empty(v.device(), v.dtype(), v.shape());
            q.backend().attentionBackward(qc, kc, vc, keyPadding, causal, scale, oc, gc, logSumExp, gq, gk, gv);
            return new Gradients(gq, gk, gv);
        }
    }

    private static Tensor lastDimContiguous(Tensor t) {
        if (t.rank() >= 1 && t.size(-1) > 1 && t.stride(-1) != 1) return t.contiguous();
        return t.expand(t.shape());  // a view, so that try-with-resources may close it
    }

    // ---------------------------------------------------------------- validation (both backends call these)

    /** Checks q, k, v, keyPadding and scale; throws IllegalArgumentException naming op, tensor, shape and dtype. */
    public static void checkInputs(String op, Tensor q, Tensor k, Tensor v, Tensor keyPadding, double scale) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) {
            throw new IllegalArgumentException(op + ": q, k, v must be [batch, heads, time, headDim], got q " + q.describe() + ", k "
                    + k.describe() + ", v " + v.describe());
        }
        DType t = q.dtype();
        if (t != DType.F32 && t != DType.BF16 && t != DType.F64) throw new IllegalArgumentException(op + ": q must be F32, BF16 or (CPU) F64, got " + q.describe());
        if (k.dtype() != t || v.dtype() != t) throw new IllegalArgumentException(op + ": dtype mismatch q " + q.describe() + ", k " + k.describe() + ", v " + v.describe());
        sameDevice(op, q, "k", k);
        sameDevice(op, q, "v", v);
        int b = q.size(0), h = q.size(1), hd = q.size(3), tk = k.size(2);
        if (k.size(0) != b || k.size(1) != h || k.size(3) != hd) {
            throw new IllegalArgumentException(op + ": k " + k.describe() + " must be [" + b + ", " + h + ", Tk, " + hd + "] to match q " + q.describe());
        }
        if (!Arrays.equals(v.shape(), k.shape())) throw new IllegalArgumentException(op + ": v " + v.describe() + " must have k's shape " + k.describe());
        unitLastStride(op, "q", q);
        unitLastStride(op, "k", k);
        unitLastStride(op, "v", v);
        if (keyPadding != null) {
            if (keyPadding.rank() != 2 || keyPadding.size(0) != b || keyPadding.size(1) != tk) {
                throw new IllegalArgumentException(op + ": keyPadding must be [" + b + ", " + tk + "] (batch, keys), got " + keyPadding.describe());
            }
            sameDevice(op, q, "keyPadding", keyPadding);
        }
        if (!Double.isFinite(scale)) throw new IllegalArgumentException(op + ": scale must be finite, got " + scale);
    }

    /** Checks the forward's outputs against q and k. */
    public static void checkForwardOutputs(String op, Tensor q, Tensor out, Tensor logSumExp) {
        exactOutput(op, "out", out, q.dtype(), q.shape(), q);
        int[] s = q.shape();
        exactOutput(op, "logSumExp", logSumExp, logSumExpType(q.dtype()), new int[]{s[0], s[1], s[2]}, q);
    }

    /** Checks the backward's extra inputs and its outputs. */
    public static void checkBackwardArguments(String op, Tensor q, Tensor k, Tensor out, Tensor gradOut, Tensor logSumExp,
                                              Tensor gradQ, Tensor gradK, Tensor gradV) {
        for (Tensor t : new Tensor[]{out, gradOut}) {
            if (!Arrays.equals(t.shape(), q.shape()) || t.dtype() != q.dtype()) {
                throw new IllegalArgumentException(op + ": out and gradOut must be like q " + q.describe() + ", got " + t.describe());
            }
            sameDevice(op, q, "out/gradOut", t);
        }
        unitLastStride(op, "out", out);
        unitLastStride(op, "gradOut", gradOut);
        int[] s = q.shape();
        exactOutput(op, "logSumExp", logSumExp, logSumExpType(q.dtype()), new int[]{s[0], s[1], s[2]}, q);
        exactOutput(op, "gradQ", gradQ, q.dtype(), q.shape(), q);
        exactOutput(op, "gradK", gradK, k.dtype(), k.shape(), q);
        exactOutput(op, "gradV", gradV, k.dtype(), k.shape(), q);
    }

    private static void exactOutput(String op, String name, Tensor t, DType dtype, int[] shape, Tensor q) {
        if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + Arrays.toString(shape) + " " + dtype + ", got " + t.describe());
        }
        if (!t.isContiguous()) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " must be contiguous");
        sameDevice(op, q, name, t);
    }

    private static void unitLastStride(String op, String name, Tensor t) {
        if (t.size(-1) > 1 && t.stride(-1) != 1) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " needs a contiguous last dimension (stride 1), has stride " + t.stride(-1));
        }
    }

    private static void sameDevice(String op, Tensor q, String name, Tensor t) {
        if (!t.device().equals(q.device())) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " is on " + t.device() + ", q on " + q.device());
        }
    }
}
