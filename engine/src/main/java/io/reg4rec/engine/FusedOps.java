package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Entry points for the fused layer-norm and cross-entropy ops ({@link Backend#layerNormForward}
 * and friends): they validate the arguments (naming op, tensor, shape and dtype), flatten the
 * leading dimensions into rows, allocate the outputs on the inputs' device and call the backend.
 * The {@code check*} methods hold the backends' contract and are also called by the CUDA launch
 * code right before it launches.
 */
public final class FusedOps {
    private FusedOps() {}

    /** The dtype of row statistics (mean, rstd, losses, log-sum-exp) for inputs of dtype x. */
    public static DType statsDtype(DType x) {
        return x == DType.F64 ? DType.F64 : DType.F32;
    }

    /** Output of {@link #layerNorm}: out shaped like x, mean and rstd shaped like x without its last axis. */
    public record LayerNormResult(Tensor out, Tensor mean, Tensor rstd) implements AutoCloseable {
        @Override
        public void close() {
            out.close();
            mean.close();
            rstd.close();
        }
    }

    /** Gradients of {@link #layerNorm}; gradGamma / gradBeta are null when not asked for. */
    public record LayerNormGrads(Tensor gradX, Tensor gradGamma, Tensor gradBeta) {}

    /** Output of {@link #crossEntropy}: per-row losses and log-sum-exp, shaped like the targets. */
    public record CrossEntropyResult(Tensor losses, Tensor logSumExp) implements AutoCloseable {
        @Override
        public void close() {
            losses.close();
            logSumExp.close();
        }
    }

    // ---------------------------------------------------------------- layer norm

    /** Layer norm over the last axis of x (any rank >= 1); gamma and beta [cols] or null. */
    public static LayerNormResult layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        if (x.rank() < 1) throw new IllegalArgumentException("layerNorm: input must have at least one dimension, got " + x.describe());
        int[] shape = x.shape();
        int cols = shape[shape.length - 1];
        int rows = rowsOf(shape, "layerNorm", x);
        int[] rowShape = Arrays.copyOf(shape, shape.length - 1);
        Device device = x.device();
        Tensor out = Tensor.empty(device, x.dtype(), shape);
        Tensor mean = Tensor.empty(device, statsDtype(x.dtype()), rowShape);
        Tensor rstd = Tensor.empty(device, statsDtype(x.dtype()), rowShape);
        try (Tensor x2 = x.reshape(rows, cols); Tensor xc = x2.contiguous(); Tensor o2 = out.reshape(rows, cols);
             Tensor m1 = mean.reshape(rows); Tensor r1 = rstd.reshape(rows)) {
            checkLayerNorm("layerNorm", xc, gamma, beta, eps, o2, m1, r1);
            if (rows > 0) x.backend().layerNormForward(xc, gamma, beta, eps, o2, m1, r1);
        } catch (RuntimeException e) {
            out.close();
            mean.close();
            rstd.close();
            throw e;
        }
        return new LayerNormResult(out, mean, rstd);
    }

    /** Gradients of {@link #layerNorm} from gradOut (x's shape and dtype) and the saved statistics. */
    public static LayerNormGrads layerNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut,
                                                   boolean wantGradGamma, boolean wantGradBeta) {
        if (x.rank() < 1) throw new IllegalArgumentException("layerNormBackward: input must have at least one dimension, got " + x.describe());
        int[] shape = x.shape();
        int cols = shape[shape.length - 1];
        int rows = rowsOf(shape, "layerNormBackward", x);
        if (!Arrays.equals(gradOut.shape(), shape)) {
            throw new IllegalArgumentException("layerNormBackward: gradOut " + gradOut.describe() + " must have the shape of x " + x.describe());
        }
        if (wantGradGamma && gamma == null) throw new IllegalArgumentException("layerNormBackward: a gradient for gamma was asked for, but gamma is null");
        Device device = x.device();
        Tensor gradX = Tensor.empty(device, x.dtype(), shape);
        Tensor gradGamma = wantGradGamma ? Tensor.empty(device, x.dtype(), cols) : null;
        Tensor gradBeta = wantGradBeta ? Tensor.empty(device, x.dtype(), cols) : null;
        try (Tensor x2 = x.reshape(rows, cols); Tensor xc = x2.contiguous(); Tensor g2 = gradOut.reshape(rows, cols);
             Tensor gc = g2.contiguous(); Tensor gx2 = gradX.reshape(rows, cols); Tensor m1 = mean.reshape(rows);
             Tensor mc = m1.contiguous(); Tensor r1 = rstd.reshape(rows); Tensor rc = r1.contiguous()) {
            checkLayerNormBackward("layerNormBackward", xc, gamma, mc, rc, gc, gx2, gradGamma, gradBeta);
            if (rows > 0) {
                x.backend().layerNormBackward(xc, gamma, mc, rc, gc, gx2, gradGamma, gradBeta);
            } else {
                if (gradGamma != null) gradGamma.fill(0);
                if (gradBeta != null) gradBeta.fill(0);
            }
        } catch (RuntimeException e) {
            gradX.close();
            if (gradGamma != null) gradGamma.close();
            if (gradBeta != null) gradBeta.close();
            throw e;
        }
        return new LayerNormGrads(gradX, gradGamma, gradBeta);
    }

    /** The contract of {@link Backend#layerNormForward}, checked before any work. */
    public static void checkLayerNorm(String op, Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd) {
        checkFloatRows(op, "x", x);
        int rows = x.size(0), cols = x.size(1);
        if (cols < 1) throw new IllegalArgumentException(op + ": x " + x.describe() + " has no columns to normalise");
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException(op + ": eps must be positive and finite, got " + eps);
        checkParam(op, "gamma", gamma, x);
        checkParam(op, "beta", beta, x);
        checkLike(op, "out", out, x.dtype(), x.device(), rows, cols);
        checkLike(op, "mean", mean, statsDtype(x.dtype()), x.device(), rows);
        checkLike(op, "rstd", rstd, statsDtype(x.dtype()), x.device(), rows);
    }

    /** The contract of {@link Backend#layerNormBackward}. */
    public static void checkLayerNormBackward(String op, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut,
                                              Tensor gradX, Tensor gradGamma, Tensor gradBeta) {
        checkFloatRows(op, "x", x);
        int rows = x.size(0), cols = x.size(1);
        if (cols < 1) throw new IllegalArgumentException(op + ": x " + x.describe() + " has no columns");
        checkParam(op, "gamma", gamma, x);
        checkLike(op, "mean", mean, statsDtype(x.dtype()), x.device(), rows);
        checkLike(op, "rstd", rstd, statsDtype(x.dtype()), x.device(), rows);
        checkLike(op, "gradOut", gradOut, x.dtype(), x.device(), rows, cols);
        checkLike(op, "gradX", gradX, x.dtype(), x.device(), rows, cols);
        if (gradGamma != null && gamma == null) throw new IllegalArgumentException(op + ": gradGamma asked for without gamma");
        if (gradGamma != null) checkLike(op, "gradGamma", gradGamma, x.dtype(), x.device(), cols);
        if (gradBeta != null) checkLike(op, "gradBeta", gradBeta, x.dtype(), x.device(), cols);
    }

    private static void checkParam(String op, String name, Tensor p, Tensor x) {
        if (p == null) return;
        checkLike(op, name, p, x.dtype(), x.device(), x.size(1));
    }

    // ---------------------------------------------------------------- cross-entropy

    /** Per-position cross-entropy of logits [..., classes] against targets [...] (I32 or I64). */
    public static CrossEntropyResult crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, double labelSmoothing) {
        int[] rowShape = checkTargetsShape("crossEntropy", logits, targets);
        int classes = logits.size(-1);
        int rows = (int) targets.numel();
        Device device = logits.device();
        Tensor losses = Tensor.empty(device, statsDtype(logits.dtype()), rowShape);
        Tensor lse = Tensor.empty(device, statsDtype(logits.dtype()), rowShape);
        try (Tensor l2 = logits.reshape(rows, classes); Tensor lc = l2.contiguous(); Tensor t1 = targets.reshape(rows);
             Tensor tc = t1.contiguous(); Tensor o1 = losses.reshape(rows); Tensor s1 = lse.reshape(rows)) {
            checkCrossEntropy("crossEntropy", lc, tc, labelSmoothing, o1, s1);
            if (rows > 0) logits.backend().crossEntropyForward(lc, tc, ignoreIndex, labelSmoothing, o1, s1);
        } catch (RuntimeException e) {
            losses.close();
            lse.close();
            throw e;
        }
        return new CrossEntropyResult(losses, lse);
    }

    /** Gradient of {@link #crossEntropy}'s losses with respect to the logits, given gradLosses (the losses' shape). */
    public static Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses,
                                              long ignoreIndex, double labelSmoothing) {
        int[] rowShape = checkTargetsShape("crossEntropyBackward", logits, targets);
        if (!Arrays.equals(gradLosses.shape(), rowShape) || !Arrays.equals(logSumExp.shape(), rowShape)) {
            throw new IllegalArgumentException("crossEntropyBackward: gradLosses " + gradLosses.describe() + " and logSumExp "
                    + logSumExp.describe() + " must have the targets' shape " + Arrays.toString(rowShape));
        }
        int classes = logits.size(-1);
        int rows = (int) targets.numel();
        Tensor grad = Tensor.empty(logits.device(), logits.dtype(), logits.shape());
        try (Tensor l2 = logits.reshape(rows, classes); Tensor lc = l2.contiguous(); Tensor t1 = targets.reshape(rows);
             Tensor tc = t1.contiguous(); Tensor s1 = logSumExp.reshape(rows); Tensor sc = s1.contiguous();
             Tensor g1 = gradLosses.reshape(rows); Tensor gc = g1.contiguous(); Tensor out2 = grad.reshape(rows, classes)) {
            checkCrossEntropyBackward("crossEntropyBackward", lc, tc, sc, gc, labelSmoothing, out2);
            if (rows > 0) logits.backend().crossEntropyBackward(lc, tc, sc, gc, ignoreIndex, labelSmoothing, out2);
        } catch (RuntimeException e) {
            grad.close();
            throw e;
        }
        return grad;
    }

    private static int[] checkTargetsShape(String op, Tensor logits, Tensor targets) {
        int[] ls = logits.shape();
        if (ls.length < 1 || !Arrays.equals(Arrays.copyOf(ls, ls.length - 1), targets.shape())) {
            throw new IllegalArgumentException(op + ": needs logits [..., classes] and targets [...], got " + logits.describe() + " and " + targets.describe());
        }
        return targets.shape();
    }

    /** The contract of {@link Backend#crossEntropyForward}. */
    public static void checkCrossEntropy(String op, Tensor logits, Tensor targets, double labelSmoothing, Tensor losses, Tensor logSumExp) {
        checkFloatRows(op, "logits", logits);
        int rows = logits.size(0);
        if (rows > 0 && logits.size(1) < 1) throw new IllegalArgumentException(op + ": logits " + logits.describe() + " have no classes");
        checkTargets(op, targets, logits);
        checkSmoothing(op, labelSmoothing);
        checkLike(op, "losses", losses, statsDtype(logits.dtype()), logits.device(), rows);
        checkLike(op, "logSumExp", logSumExp, statsDtype(logits.dtype()), logits.device(), rows);
    }

    /** The contract of {@link Backend#crossEntropyBackward}. */
    public static void checkCrossEntropyBackward(String op, Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses,
                                                 double labelSmoothing, Tensor gradLogits) {
        checkFloatRows(op, "logits", logits);
        int rows = logits.size(0);
        if (rows > 0 && logits.size(1) < 1) throw new IllegalArgumentException(op + ": logits " + logits.describe() + " have no classes");
        checkTargets(op, targets, logits);
        checkSmoothing(op, labelSmoothing);
        checkLike(op, "logSumExp", logSumExp, statsDtype(logits.dtype()), logits.device(), rows);
        checkLike(op, "gradLosses", gradLosses, statsDtype(logits.dtype()), logits.device(), rows);
        checkLike(op, "gradLogits", gradLogits, logits.dtype(), logits.device(), rows, logits.size(1));
    }

    private static void checkTargets(String op, Tensor targets, Tensor logits) {
        if (targets.dtype() != DType.I32 && targets.dtype() != DType.I64) {
            throw new IllegalArgumentException(op + ": targets must be I32 or I64, got " + targets.describe());
        }
        checkLike(op, "targets", targets, targets.dtype(), logits.device(), logits.size(0));
    }

    private static void checkSmoothing(String op, double s) {
        if (!(s >= 0 && s <= 1)) throw new IllegalArgumentException(op + ": label smoothing must be in [0, 1], got " + s);
    }

    // ---------------------------------------------------------------- shared checks

    private static int rowsOf(int[] shape, String op, Tensor x) {
        long rows = 1;
        for (int i = 0; i < shape.length - 1; i++) rows *= shape[i];
        if (rows > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": " + x.describe() + " has more than 2^31 - 1 rows");
        return (int) rows;
    }

    /** A contiguous rank-2 F32 / BF16 / F64 tensor. */
    private static void checkFloatRows(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t.describe() + " is released");
        if (t.rank() != 2) throw new IllegalArgumentException(op + ": " + name + " must be [rows, cols], got " + t.describe());
        if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F64) {
            throw new IllegalArgumentException(op + ": " + name + " must be F32, BF16 or (CPU) F64, got " + t.describe());
        }
        if (!t.isContiguous()) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " must be contiguous");
    }

    /** t must be a live contiguous tensor of exactly dtype, shape and device. */
    private static void checkLike(String op, String name, Tensor t, DType dtype, Device device, int... shape) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t.describe() + " is released");
        if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + Arrays.toString(shape) + " " + dtype + ", got " + t.describe());
        }
        if (!t.device().equals(device)) throw new IllegalArgumentException(op + ": " + name + " is on " + t.device() + ", the input on " + device);
        if (!t.isContiguous()) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " must be contiguous");
    }
}
