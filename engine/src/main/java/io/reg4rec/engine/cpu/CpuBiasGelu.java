package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of {@link io.reg4rec.engine.Backend#biasGelu} and its backward (bias_gelu.cu is
 * tested against it): t = x + bias[j] rounded to fp32 (F32 / BF16; double for F64), then GELU
 * (tanh approximation) or its derivative in double as {@link Elementwise} computes them, the
 * derivative rounded to fp32 and multiplied by g in fp32, each result rounded once to the dtype.
 */
final class CpuBiasGelu {
    private static final long GRAIN = 1L << 15;
    private static final int CHUNK = 1024;

    private CpuBiasGelu() {}

    /** gradOut null: the forward, out = gelu(x + bias); else out = gradOut * gelu'(x + bias). */
    static void apply(Tensor x, Tensor bias, Tensor gradOut, Tensor out) {
        View vx = View.of(x), vo = View.of(out), vg = gradOut == null ? null : View.of(gradOut);
        int cols = x.size(-1);
        double[] b = null;
        if (bias != null) {
            b = new double[cols];
            View.of(bias).loadDouble(0, cols, b, new int[cols]);
        }
        double[] biasValues = b;
        boolean wide = out.dtype() == DType.F64;
        CpuPool.parallelFor(out.numel(), GRAIN, (start, end) -> {
            int[] idx = new int[CHUNK];
            double[] d = new double[CHUNK], g = vg == null ? null : new double[CHUNK];
            for (long c = start; c < end; c += CHUNK) {
                int len = (int) Math.min(CHUNK, end - c);
                vx.loadDouble(c, len, d, idx);
                if (g != null) vg.loadDouble(c, len, g, idx);
                if (biasValues != null) {
                    for (int i = 0; i < len; i++) {
                        double t = d[i] + biasValues[(int) ((c + i) % cols)];
                        d[i] = wide ? t : (float) t;
                    }
                }
                Elementwise.unary(g == null ? io.reg4rec.engine.UnaryOp.GELU : io.reg4rec.engine.UnaryOp.GELU_GRAD, d, len);
                if (g != null) {
                    for (int i = 0; i < len; i++) d[i] = wide ? g[i] * d[i] : (float) g[i] * (float) d[i];
                } else if (!wide) {
                    for (int i = 0; i < len; i++) d[i] = (float) d[i];
                }
                vo.storeDouble(c, len, d);
            }
        });
    }
}
