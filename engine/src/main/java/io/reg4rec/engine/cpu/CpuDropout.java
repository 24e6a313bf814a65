package io.reg4rec.engine.cpu;

import io.reg4rec.engine.CounterRng;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedDropout;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of {@link io.reg4rec.engine.Backend#dropout} (the CUDA kernel dropout.cu is
 * tested against it): element i is kept when CounterRng.uniform(seed, i) >= p, times the scale
 * of {@link FusedDropout#scale}, else times 0 (so -0 and NaN stay, as with a 0/1 mask); the product is rounded to fp32 for F32 and BF16 before the
 * store (bf16 rounds once more, to nearest even), as the kernel does; a residual is added to
 * that product in fp32 (double for F64); a bias is added to x first, rounded to fp32.
 */
final class CpuDropout {
    private static final long GRAIN = 1L << 15;
    private static final int CHUNK = 1024;

    private CpuDropout() {}

    static void apply(Tensor x, Tensor bias, Tensor residual, long seed, double p, Tensor out) {
        int cols = out.rank() == 0 ? 1 : out.size(-1);
        double[] biasValues = bias == null ? null : new double[cols];
        if (bias != null) View.of(bias).loadDouble(0, cols, biasValues, new int[cols]);
        View vx = View.of(x), vo = View.of(out), vr = residual == null ? null : View.of(residual);
        double scale = FusedDropout.scale(out.dtype(), p);
        boolean wide = out.dtype() == DType.F64;
        CpuPool.parallelFor(out.numel(), GRAIN, (start, end) -> {
            int[] idx = new int[CHUNK];
            double[] d = new double[CHUNK], r = vr == null ? null : new double[CHUNK];
            for (long c = start; c < end; c += CHUNK) {
                int len = (int) Math.min(CHUNK, end - c);
                vx.loadDouble(c, len, d, idx);
                if (r != null) vr.loadDouble(c, len, r, idx);
                for (int i = 0; i < len; i++) {
                    boolean keep = CounterRng.uniform(seed, c + i) >= p;
                    if (biasValues != null) {
                        double t = d[i] + biasValues[(int) ((c + i) % cols)];
                        d[i] = wide ? t : (float) t;
                    }
                    double factor = keep ? scale : 0.0;   // x * 0 keeps the sign and NaN, as x * mask does
                    d[i] = wide ? d[i] * factor : (float) ((float) d[i] * (float) factor);
                    if (r != null) d[i] = wide ? r[i] + d[i] : (float) ((float) r[i] + (float) d[i]);
                }
                vo.storeDouble(c, len, d);
            }
        });
    }
}
