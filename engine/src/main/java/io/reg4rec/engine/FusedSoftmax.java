package io.reg4rec.engine;

import java.util.Arrays;

/**
 * The softmax / log-softmax backward pass as one backend op ({@link Backend#softmaxBackward}):
 * one kernel on CUDA instead of four (multiply, row sum, subtract, multiply) and no temporaries.
 */
public final class FusedSoftmax {
    private FusedSoftmax() {}

    /**
     * The gradient of softmax (or log-softmax) along the last axis from its output y and the
     * output gradient g (any view of y's shape and dtype); a new contiguous tensor.
     */
    public static Tensor backward(Tensor y, Tensor g, boolean log) {
        String op = log ? "logSoftmax backward" : "softmax backward";
        if (!y.dtype().isFloating() || g.dtype() != y.dtype() || !Arrays.equals(g.shape(), y.shape()) || y.rank() == 0) {
            throw new IllegalArgumentException(op + ": needs floating y and gradient of one shape (rank >= 1) and dtype, got "
                    + y.describe() + " and " + g.describe());
        }
        if (!g.device().equals(y.device())) throw new IllegalArgumentException(op + ": y on " + y.device() + ", gradient on " + g.device());
        if (y.isClosed() || g.isClosed()) throw new IllegalStateException(op + ": tensor used after release");
        try (Tensor yc = y.contiguous(); Tensor gc = g.contiguous()) {
            Tensor out = Tensor.empty(y.device(), y.dtype(), y.shape());
            try {
                if (out.numel() > 0) yc.backend().softmaxBackward(yc, gc, log, out);
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
            return out;
        }
    }
}
