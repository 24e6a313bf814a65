package io.reg4rec.engine;

/**
 * Inverted dropout as one backend op ({@link Backend#dropout}): keeps element i of x when
 * {@link CounterRng#uniform}(seed, i) >= p and scales it by 1 / (1 - p), else writes 0. One
 * kernel on CUDA instead of a random fill, a compare, a scale and a multiply; no mask is stored,
 * since the backward pass redraws it from the seed (the gradient is this op on the output
 * gradient with the same seed).
 */
public final class FusedDropout {
    private FusedDropout() {}

    /** dropout(x) as a new contiguous tensor of x's shape and dtype (x may be any view). */
    public static Tensor apply(Tensor x, long seed, double p) {
        return apply(x, null, seed, p);
    }

    /**
     * residual + dropout(x) in one op (residual null: dropout(x) alone), a new contiguous tensor;
     * residual has x's shape, dtype and device (either may be any view).
     */
    public static Tensor apply(Tensor x, Tensor residual, long seed, double p) {
        return apply(x, null, residual, seed, p);
    }

    /**
     * residual + dropout(x + bias) in one op: bias [x.size(-1)] or null, residual like x or null;
     * a new contiguous tensor.
     */
    public static Tensor apply(Tensor x, Tensor bias, Tensor residual, long seed, double p) {
        if (!x.dtype().isFloating()) throw new IllegalArgumentException("dropout: needs a floating tensor, got " + x.describe());
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p + " for " + x.describe());
        if (x.isClosed()) throw new IllegalStateException("dropout: tensor " + x.describe() + " used after release");
        if (residual != null) {
            if (residual.isClosed()) throw new IllegalStateException("dropout: residual " + residual.describe() + " used after release");
            if (residual.dtype() != x.dtype() || !java.util.Arrays.equals(residual.shape(), x.shape()) || !residual.device().equals(x.device())) {
                throw new IllegalArgumentException("dropout: residual " + residual.describe() + " on " + residual.device() + " must match "
                        + x.describe() + " on " + x.device());
            }
        }
        if (bias != null && (bias.rank() != 1 || x.rank() == 0 || bias.size(0) != x.size(-1) || bias.dtype() != x.dtype()
                || !bias.device().equals(x.device()) || bias.isClosed())) {
            throw new IllegalArgumentException("dropout: bias " + bias.describe() + " on " + bias.device() + " must be a live ["
                    + (x.rank() == 0 ? "?" : x.size(-1)) + "] " + x.dtype() + " on " + x.device());
        }
        try (Tensor in = x.contiguous(); Tensor res = residual == null ? null : residual.contiguous();
             Tensor b = bias == null ? null : bias.contiguous()) {
            Tensor out = Tensor.empty(x.device(), x.dtype(), x.shape());
            try {
                if (out.numel() > 0) in.backend().dropout(in, b, res, seed, p, out);
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
            return out;
        }
    }

    /** The factor kept elements are multiplied by: 1 / (1 - p), rounded to fp32 unless the dtype is F64. */
    public static double scale(DType dtype, double p) {
        double s = 1.0 / (1.0 - p);
        return dtype == DType.F64 ? s : (float) s;
    }
}
