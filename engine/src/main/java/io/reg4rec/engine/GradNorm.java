package io.reg4rec.engine;

/**
 * The global gradient norm on the device: the sum of squares of many fp32 tensors as one op
 * ({@link Backend#sumOfSquaresSegments}: one kernel launch on CUDA, no host read), and the
 * argument checks of it and of the clipped AdamW step ({@link FusedAdamW#applyClipped}).
 */
public final class GradNorm {
    /** The 1e-6 that clip_grad_norm_ adds to the norm before dividing (rounded to fp32 by the backends). */
    public static final double CLIP_EPS = 1e-6;

    private GradNorm() {}

    /**
     * out[0] = the sum over all xs of x^2 (contiguous F32 tensors of any sizes, empty ones
     * allowed, all on out's device), accumulated in a fixed order: equal inputs give equal bits.
     * out is a [1] F32 tensor; its previous value is ignored.
     */
    public static void sumOfSquares(Tensor[] xs, Tensor out) {
        checkSumOfSquares(out == null ? null : out.device(), xs, out);
        out.backend().sumOfSquaresSegments(xs, out);
    }

    /** A new [1] F32 tensor on device holding the sum of squares of xs (see {@link #sumOfSquares(Tensor[], Tensor)}). */
    public static Tensor sumOfSquares(Device device, Tensor[] xs) {
        Tensor out = Tensor.empty(device, DType.F32, 1);
        try {
            sumOfSquares(xs, out);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** The checks of {@link Backend#sumOfSquaresSegments} on a backend of device. */
    public static void checkSumOfSquares(Device device, Tensor[] xs, Tensor out) {
        String op = "sumOfSquaresSegments";
        if (xs == null) throw new IllegalArgumentException(op + ": the tensor array is null");
        checkScalar(op, "out", out, device);
        for (int s = 0; s < xs.length; s++) {
            Tensor x = xs[s];
            if (x == null) throw new IllegalArgumentException(op + ": tensor " + s + " is null");
            if (x.isClosed()) throw new IllegalStateException(op + ": tensor " + s + " " + x.describe() + " used after release");
            if (x.dtype() != DType.F32 || !x.isContiguous()) {
                throw new IllegalArgumentException(op + ": tensor " + s + " must be a contiguous F32 tensor, got " + x.describe()
                        + (x.isContiguous() ? "" : " (strided)"));
            }
            if (!x.device().equals(device)) throw new IllegalArgumentException(op + ": tensor " + s + " " + x.describe() + " is on " + x.device() + ", out on " + device);
        }
    }

    /** A [1] F32 contiguous live tensor on device (out of the sum of squares, or the clipped step's input). */
    private static void checkScalar(String op, String name, Tensor t, Device device) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (t.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t.describe() + " used after release");
        if (t.dtype() != DType.F32 || t.rank() != 1 || t.size(0) != 1) {
            throw new IllegalArgumentException(op + ": " + name + " must be a [1] F32 tensor, got " + t.describe());
        }
        if (!t.device().equals(device)) throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " is on " + t.device() + ", expected " + device);
    }

    /**
     * The checks of {@link Backend#adamwStepSegmentsClipped} on a backend of device: the segments
     * as {@link FusedAdamW#apply} checks them, on device, and the clip inputs. Returns the total
     * number of elements.
     */
    public static long checkClipped(Device device, Tensor[] params, Tensor[] grads, Tensor m, Tensor v, Tensor sumOfSquares, double maxNorm) {
        long total = FusedAdamW.checkSegments(params, grads, m, v);
        if (!m.device().equals(device)) throw new IllegalArgumentException("adamwStepSegmentsClipped: m " + m.describe() + " is on " + m.device() + ", not " + device);
        checkClip("adamwStepSegmentsClipped", sumOfSquares, maxNorm, device);
        return total;
    }

    /** The checks of the clip inputs of {@link Backend#adamwStepSegmentsClipped}: the scalar on device, maxNorm positive and finite. */
    private static void checkClip(String op, Tensor sumOfSquares, double maxNorm, Device device) {
        checkScalar(op, "sumOfSquares", sumOfSquares, device);
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm) || (float) maxNorm == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException(op + ": maxNorm must be positive and finite in fp32, got " + maxNorm);
        }
    }

    /**
     * The clip factor of clip_grad_norm_ in fp32, as the kernels compute it:
     * c = min(1, maxNorm / (sqrt(sumOfSquares) + 1e-6)), each operation rounded to fp32 in that
     * order; a NaN sum gives NaN (as torch.clamp), so a poisoned step is not taken unclipped.
     */
    public static float clipScale(float sumOfSquares, double maxNorm) {
        float norm = (float) Math.sqrt(sumOfSquares);     // the correctly rounded fp32 square root
        float factor = (float) maxNorm / (norm + (float) CLIP_EPS);
        return factor > 1f ? 1f : factor;
    }
}
