package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Fp8;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of the fp8-training helpers: amax (max |x|, NaN propagating) and the scaled
 * casts. The narrowing cast multiplies in fp32 (Java float arithmetic: one round-to-nearest-even
 * product), then encodes with the bit-exact codecs {@link Fp8} / {@link Bf16}, saturating: fp8
 * codecs saturate already; for bf16 an infinite encoding (overflow or an infinite product)
 * becomes +-max finite (0x7F7F). The widening cast decodes exactly and multiplies in fp32.
 */
final class CpuScaledCast {
    private static final long GRAIN = 1L << 16;
    /** bf16's largest finite magnitude, 0x7F7F (3.3895314e38). */
    static final short BF16_MAX_BITS = 0x7F7F;

    private CpuScaledCast() {}

    /** The encoding of value (already scaled) into a low-precision dtype, saturating. */
    static int encodeSaturating(DType dst, float value) {
        return switch (dst) {
            case F8E4M3 -> Fp8.e4m3FromFloat(value);
            case F8E5M2 -> Fp8.e5m2FromFloat(value);
            case BF16 -> {
                short b = Bf16.fromFloat(value);
                if ((b & 0x7FFF) == 0x7F80) b = (short) ((b & 0x8000) | BF16_MAX_BITS);
                yield b;
            }
            default -> throw new IllegalArgumentException("castScaled: no saturating encoding into " + dst);
        };
    }

    static void castScaled(Tensor src, Tensor dst, Tensor scale) {
        float s = ((float[]) View.of(scale).array)[(int) scale.offset()];
        View in = View.of(src), out = View.of(dst);
        int si = (int) in.offset, di = (int) out.offset;
        long n = src.numel();
        if (src.dtype() == DType.F32) {
            float[] x = (float[]) in.array;
            DType to = dst.dtype();
            CpuPool.parallelFor(n, GRAIN, (a, b) -> {
                if (to == DType.BF16) {
                    short[] y = (short[]) out.array;
                    for (int i = (int) a; i < (int) b; i++) y[di + i] = (short) encodeSaturating(to, x[si + i] * s);
                } else {
                    byte[] y = (byte[]) out.array;
                    for (int i = (int) a; i < (int) b; i++) y[di + i] = (byte) encodeSaturating(to, x[si + i] * s);
                }
            });
        } else {
            float[] y = (float[]) out.array;
            DType from = src.dtype();
            CpuPool.parallelFor(n, GRAIN, (a, b) -> {
                if (from == DType.BF16) {
                    short[] x = (short[]) in.array;
                    for (int i = (int) a; i < (int) b; i++) y[di + i] = Bf16.toFloat(x[si + i]) * s;
                } else {
                    byte[] x = (byte[]) in.array;
                    for (int i = (int) a; i < (int) b; i++) y[di + i] = Fp8.toFloat(from, x[si + i]) * s;
                }
            });
        }
    }

    static void amax(Tensor x, Tensor out) {
        View in = View.of(x);
        long n = x.numel();
        int parts = (int) Math.max(1, Math.min(CpuPool.threads(), (n + GRAIN - 1) / GRAIN));
        double[] partial = new double[parts];
        long step = (n + parts - 1) / parts;
        CpuPool.forEachTask(parts, part -> {
            long a = part * step, b = Math.min(n, a + step);
            double[] buf = new double[1024];
            int[] idx = new int[1024];
            double max = 0;
            for (long c = a; c < b && !Double.isNaN(max); c += buf.length) {
                int len = (int) Math.min(buf.length, b - c);
                in.loadDouble(c, len, buf, idx);
                for (int i = 0; i < len; i++) {
                    double v = Math.abs(buf[i]);
                    if (v > max || v != v) max = v;
                    if (v != v) break;
                }
            }
            partial[part] = max;
        });
        double max = 0;
        for (double v : partial) if (v > max || v != v) { max = v; if (v != v) break; }
        ((float[]) View.of(out).array)[(int) out.offset()] = (float) max;
    }
}
