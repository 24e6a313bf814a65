package io.reg4rec.engine;

import java.util.Arrays;

/**
 * gelu(x + bias) over the last axis and its input gradient as single backend ops
 * ({@link Backend#biasGelu}, {@link Backend#biasGeluBackward}): a feed-forward block's bias add,
 * activation and activation gradient in one kernel each way on CUDA instead of four.
 */
public final class FusedBiasGelu {
    private FusedBiasGelu() {}

    /** gelu(x + bias) (tanh approximation); bias [x.size(-1)] or null; a new contiguous tensor. */
    public static Tensor forward(Tensor x, Tensor bias) {
        check("biasGelu", x, bias, null);
        try (Tensor xc = x.contiguous(); Tensor bc = bias == null ? null : bias.contiguous()) {
            Tensor out = Tensor.empty(x.device(), x.dtype(), x.shape());
            try {
                if (out.numel() > 0) xc.backend().biasGelu(xc, bc, out);
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
            return out;
        }
    }

    /** gradOut * gelu'(x + bias): the gradient with respect to x (and, summed over rows, to bias). */
    public static Tensor backward(Tensor x, Tensor bias, Tensor gradOut) {
        check("biasGelu backward", x, bias, gradOut);
        try (Tensor xc = x.contiguous(); Tensor bc = bias == null ? null : bias.contiguous(); Tensor gc = gradOut.contiguous()) {
            Tensor out = Tensor.empty(x.device(), x.dtype(), x.shape());
            try {
                if (out.numel() > 0) xc.backend().biasGeluBackward(xc, bc, gc, out);
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
            return out;
        }
    }

    private static void check(String op, Tensor x, Tensor bias, Tensor gradOut) {
        if (!x.dtype().isFloating() || x.rank() == 0) throw new IllegalArgumentException(op + ": needs a floating tensor of rank >= 1, got " + x.describe());
        if (x.isClosed()) throw new IllegalStateException(op + ": x " + x.describe() + " used after release");
        if (bias != null && (bias.rank() != 1 || bias.size(0) != x.size(-1) || bias.dtype() != x.dtype() || !bias.device().equals(x.device()))) {
            throw new IllegalArgumentException(op + ": bias " + bias.describe() + " on " + bias.device() + " must be [" + x.size(-1) + "] "
                    + x.dtype() + " on " + x.device());
        }
        if (gradOut != null && (!Arrays.equals(gradOut.shape(), x.shape()) || gradOut.dtype() != x.dtype() || !gradOut.device().equals(x.device()))) {
            throw new IllegalArgumentException(op + ": gradient " + gradOut.describe() + " on " + gradOut.device() + " must match " + x.describe());
        }
    }
}
