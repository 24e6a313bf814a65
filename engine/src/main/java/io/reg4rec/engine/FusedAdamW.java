package io.reg4rec.engine;

/**
 * AdamW over many parameters at once ({@link Backend#adamwStepSegments}): each parameter and its
 * gradient stay where they are (no gathering into flat buffers), their moments are consecutive
 * segments of flat m and v. One kernel launch on CUDA for any number of parameters.
 */
public final class FusedAdamW {
    private FusedAdamW() {}

    /**
     * Updates params[s] in place from grads[s] (contiguous F32 tensors of one numel per s, all on
     * m's device) with the moments m and v (flat contiguous F32): segment s uses their elements
     * [o_s, o_s + numel(params[s])), o_s the numels of the parameters before it, and the
     * numels sum to m's. Formula and rounding as {@link AdamWHyper}; parameters must not overlap.
     */
    public static void apply(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper) {
        if (checkSegments(params, grads, m, v) == 0) return;
        m.backend().adamwStepSegments(params, grads, m, v, hyper);
    }

    /**
     * As {@link #apply}, but every gradient element is first multiplied by the global-norm clip
     * factor c = min(1, maxNorm / (sqrt(sumOfSquares[0]) + 1e-6)) ({@link GradNorm#clipScale}),
     * computed on the backend from the device scalar sumOfSquares (a [1] F32 tensor on m's
     * device, e.g. from {@link GradNorm#sumOfSquares}): the update of clip_grad_norm_ followed by
     * the step, with no host read. The gradients themselves are left unchanged. maxNorm must be
     * positive and finite.
     */
    public static void applyClipped(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper, Tensor sumOfSquares, double maxNorm) {
        if (m == null) throw new IllegalArgumentException("adamwStepSegmentsClipped: m is null");
        if (GradNorm.checkClipped(m.device(), params, grads, m, v, sumOfSquares, maxNorm) == 0) return;
        m.backend().adamwStepSegmentsClipped(params, grads, m, v, hyper, sumOfSquares, maxNorm);
    }

    /** Checks the segments of {@link #apply}; returns their total number of elements. */
    static long checkSegments(Tensor[] params, Tensor[] grads, Tensor m, Tensor v) {
        if (params == null || grads == null) throw new IllegalArgumentException("adamwStepSegments: the parameter or gradient array is null");
        if (m == null || v == null) throw new IllegalArgumentException("adamwStepSegments: m or v is null");
        if (params.length != grads.length) {
            throw new IllegalArgumentException("adamwStepSegments: " + params.length + " parameters but " + grads.length + " gradients");
        }
        checkFlat("m", m, m);
        checkFlat("v", v, m);
        if (m.numel() != v.numel()) throw new IllegalArgumentException("adamwStepSegments: m " + m.describe() + " and v " + v.describe() + " differ");
        long total = 0;
        for (int s = 0; s < params.length; s++) {
            check("param " + s, params[s], m);
            check("grad " + s, grads[s], m);
            if (params[s].numel() != grads[s].numel()) {
                throw new IllegalArgumentException("adamwStepSegments: param " + s + " " + params[s].describe() + " and its gradient "
                        + grads[s].describe() + " differ in size");
            }
            total += params[s].numel();
        }
        if (total != m.numel()) {
            throw new IllegalArgumentException("adamwStepSegments: the parameters hold " + total + " elements, the moments " + m.numel());
        }
        return total;
    }

    private static void checkFlat(String what, Tensor t, Tensor m) {
        check(what, t, m);
        if (t.rank() != 1) throw new IllegalArgumentException("adamwStepSegments: " + what + " must be flat (rank 1), got " + t.describe());
    }

    private static void check(String what, Tensor t, Tensor m) {
        if (t == null) throw new IllegalArgumentException("adamwStepSegments: " + what + " is null");
        if (t.isClosed()) throw new IllegalStateException("adamwStepSegments: " + what + " is closed");
        if (t.dtype() != DType.F32 || !t.isContiguous()) {
            throw new IllegalArgumentException("adamwStepSegments: " + what + " must be a contiguous F32 tensor, got " + t.describe()
                    + (t.isContiguous() ? "" : " (strided)"));
        }
        if (!t.device().equals(m.device())) throw new IllegalArgumentException("adamwStepSegments: " + what + " is on " + t.device() + ", m on " + m.device());
    }
}
