package io.reg4rec.autograd;

import io.reg4rec.engine.Tensor;

/** Loss functions composed from differentiable ops. */
public final class Losses {
    private Losses() {}

    /**
     * Mean softmax cross-entropy of logits [n, classes] against integer targets [n] (I32 or I64):
     * -mean_i log softmax(logits_i)[target_i]. An empty batch gives 0 and zero gradients.
     */
    public static Variable softmaxCrossEntropy(Variable logits, Tensor targets) {
        if (logits.rank() != 2 || targets.rank() != 1 || targets.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("softmaxCrossEntropy: needs logits [n, classes] and targets [n], got "
                    + logits.data().describe() + " and " + targets.describe());
        }
        int n = logits.size(0);
        try (Tensor column = targets.reshape(n, 1)) {
            Variable picked = logits.logSoftmax(1).gather(1, column);
            return picked.sumAll().mul(-1.0 / Math.max(n, 1));
        }
    }
}
