package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/**
 * Softmax cross-entropy with ignored labels and label smoothing, as PyTorch's
 * {@code cross_entropy(ignore_index, label_smoothing)} with mean reduction: for each counted
 * position, (1 - eps) * (-log p[target]) + eps * mean_c(-log p[c]); the result is the mean over
 * positions whose target is not {@code ignoreIndex} (0 when none is counted).
 */
public final class CrossEntropy {
    /** The conventional label for positions that do not count (PyTorch's default ignore_index). */
    public static final long IGNORE = -100;

    private CrossEntropy() {}

    public static Variable loss(Variable logits, Tensor targets) {
        return loss(logits, targets, IGNORE, 0.0);
    }

    /**
     * logits [..., classes] and integer targets [...] (the same leading shape), I32 or I64.
     *
     * @param ignoreIndex targets equal to this do not count
     * @param smoothing   label smoothing eps in [0, 1)
     */
    public static Variable loss(Variable logits, Tensor targets, long ignoreIndex, double smoothing) {
        int[] ls = logits.shape();
        if (ls.length < 1 || !Arrays.equals(Arrays.copyOf(ls, ls.length - 1), targets.shape())) {
            throw new IllegalArgumentException("CrossEntropy: needs logits [..., classes] and targets [...], got "
                    + logits.data().describe() + " and " + targets.describe());
        }
        if (targets.dtype() != DType.I64 && targets.dtype() != DType.I32) throw new IllegalArgumentException("CrossEntropy: targets must be I32 or I64, got " + targets.describe());
        if (!(smoothing >= 0 && smoothing < 1)) throw new IllegalArgumentException("CrossEntropy: smoothing must be in [0, 1), got " + smoothing);
        int classes = ls[ls.length - 1];
        int n = (int) targets.numel();
        Variable rows = ls.length == 2 ? logits : logits.reshape(n, classes);
        Tensor weights, count, safeTargets;
        try (Tensor flat = targets.reshape(n, 1); Tensor valid = flat.binary(BinaryOp.NE, ignoreIndex)) {
            safeTargets = flat.mul(valid);     // ignored rows gather class 0, then weigh 0
            weights = valid.to(logits.dtype());
            try (Tensor total = weights.sumAll()) {
                count = total.binary(BinaryOp.MAX, 1.0);
            }
        }
        Variable logp = rows.logSoftmax(1);
        Variable perRow = logp.gather(1, safeTargets).neg();
        if (smoothing > 0) {
            perRow = perRow.mul(1.0 - smoothing).add(logp.mean(1, true).mul(-smoothing));
        }
        safeTargets.close();
        return perRow.mul(Variable.constant(weights)).sumAll().div(Variable.constant(count));
    }
}
