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
 *
 * <p>The per-position losses come from the fused op {@link Variable#crossEntropy} (one kernel
 * forward and one backward on CUDA; probabilities are never stored); the mean adds a few small
 * ops over the positions. The loss has the logits' dtype.
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
        Variable perPosition = logits.crossEntropy(targets, ignoreIndex, smoothing);   // 0 at ignored positions
        Tensor count;
        try (Tensor valid = targets.binary(BinaryOp.NE, ignoreIndex); Tensor weights = valid.to(perPosition.dtype());
             Tensor total = weights.sumAll()) {
            count = total.binary(BinaryOp.MAX, 1.0);
        }
        Variable mean = perPosition.sumAll().div(Variable.constant(count));
        return mean.dtype() == logits.dtype() ? mean : mean.to(logits.dtype());
    }
}
