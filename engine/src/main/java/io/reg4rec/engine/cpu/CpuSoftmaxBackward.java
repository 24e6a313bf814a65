package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of {@link io.reg4rec.engine.Backend#softmaxBackward} (softmax_backward.cu is
 * tested against it). For F32 and BF16 it follows the kernel's fp32 arithmetic: the row sum
 * s accumulates in fp32 (in index order; the kernel's lanes sum in another order, so the two agree
 * to fp32 rounding, not bit for bit), each output is one fp32 expression rounded to the dtype.
 * F64 computes in double.
 */
final class CpuSoftmaxBackward {
    private static final long GRAIN = 1L << 15;

    private CpuSoftmaxBackward() {}

    static void apply(Tensor y, Tensor g, boolean log, Tensor out) {
        View vy = View.of(y), vg = View.of(g), vo = View.of(out);
        long n = out.numel();
        if (n == 0) return;
        int len = out.size(-1);
        long rows = n / len;
        boolean wide = out.dtype() == DType.F64;
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / len), (start, end) -> {
            double[] yr = new double[len], gr = new double[len];
            int[] idx = new int[len];
            for (long r = start; r < end; r++) {
                vy.loadDouble(r * len, len, yr, idx);
                vg.loadDouble(r * len, len, gr, idx);
                if (wide) {
                    double s = 0;
                    for (int j = 0; j < len; j++) s += log ? gr[j] : gr[j] * yr[j];
                    for (int j = 0; j < len; j++) yr[j] = log ? gr[j] - Math.exp(yr[j]) * s : yr[j] * (gr[j] - s);
                } else {
                    float s = 0f;
                    for (int j = 0; j < len; j++) s += log ? (float) gr[j] : (float) gr[j] * (float) yr[j];
                    for (int j = 0; j < len; j++) {
                        float yj = (float) yr[j], gj = (float) gr[j];
                        yr[j] = log ? gj - (float) Math.exp(yj) * s : yj * (gj - s);
                    }
                }
                vo.storeDouble(r * len, len, yr);
            }
        });
    }
}
