package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Attention;
import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

/**
 * The CPU reference of fused attention ({@link Attention} defines it). Every (batch, head) pair
 * is one task on {@link CpuPool}; inside a task the rows are loaded into double arrays and the
 * arithmetic is double throughout (scores, softmax, sums), rounded once on store to the output's
 * dtype. Each output element is written by exactly one task in a fixed order, so results do not
 * depend on the thread count.
 *
 * <p>Forward: s_ij = scale q_i . k_j over visible keys, m = max s, l = sum exp(s - m),
 * out_i = sum_j exp(s_ij - m) / l v_j, logSumExp_i = m + log l. Backward (as FlashAttention-2):
 * D_i = dO_i . O_i, P_ij = exp(s_ij - logSumExp_i), dV_j = sum_i P_ij dO_i,
 * dS_ij = P_ij (dO_i . v_j - D_i), dQ_i = scale sum_j dS_ij k_j, dK_j = scale sum_i dS_ij q_i.
 */
final class CpuAttention {
    private CpuAttention() {}

    /** A [B, H, T, hd] tensor's array and strides (last dimension contiguous). */
    private record Rows(Object array, DType dtype, long offset, long batchStride, long headStride, long timeStride, int hd) {
        static Rows of(Tensor t) {
            View v = View.of(t);
            return new Rows(v.array, v.dtype, v.offset, t.stride(0), t.stride(1), t.stride(2), t.size(3));
        }

        int base(int b, int h, int t) {
            return (int) (offset + b * batchStride + h * headStride + t * timeStride);
        }

        /** Row (b, h, t) into dst[at .. at + hd). */
        void load(int b, int h, int t, double[] dst, int at) {
            int s = base(b, h, t);
            switch (dtype) {
                case F64 -> System.arraycopy((double[]) array, s, dst, at, hd);
                case F32 -> { float[] a = (float[]) array; for (int d = 0; d < hd; d++) dst[at + d] = a[s + d]; }
                case BF16 -> { short[] a = (short[]) array; for (int d = 0; d < hd; d++) dst[at + d] = Bf16.toFloat(a[s + d]); }
                default -> throw new IllegalStateException("attention: unsupported dtype " + dtype);
            }
        }

        /** src[at .. at + hd) times factor into row (b, h, t), one rounding to the dtype. */
        void store(int b, int h, int t, double[] src, int at, double factor) {
            int s = base(b, h, t);
            switch (dtype) {
                case F64 -> { double[] a = (double[]) array; for (int d = 0; d < hd; d++) a[s + d] = src[at + d] * factor; }
                case F32 -> { float[] a = (float[]) array; for (int d = 0; d < hd; d++) a[s + d] = (float) (src[at + d] * factor); }
                case BF16 -> { short[] a = (short[]) array; for (int d = 0; d < hd; d++) a[s + d] = Bf16.fromDouble(src[at + d] * factor); }
                default -> throw new IllegalStateException("attention: unsupported dtype " + dtype);
            }
        }
    }

    /** keyPadding as a flat [B * Tk] flag array (true = masked), or null. */
    private static boolean[] padding(Tensor keyPadding) {
        if (keyPadding == null) return null;
        View v = View.of(keyPadding);
        int n = (int) v.numel();
        double[] values = new double[n];
        v.loadDouble(0, n, values, new int[n]);
        boolean[] masked = new boolean[n];
        for (int i = 0; i < n; i++) masked[i] = values[i] != 0;
        return masked;
    }

    private static double loadScalar(Object array, int index) {
        return array instanceof double[] d ? d[index] : ((float[]) array)[index];
    }

    private static void storeScalar(Object array, int index, double value) {
        if (array instanceof double[] d) d[index] = value;
        else ((float[]) array)[index] = (float) value;
    }

    /** Whether key j is visible to query i of (batch b): padding, causal (bottom-right aligned). */
    private static boolean visible(boolean[] pad, int b, int tk, int tq, boolean causal, int i, int j) {
        if (pad != null && pad[b * tk + j]) return false;
        return !causal || j <= i + (tk - tq);
    }

    static void forward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor logSumExp) {
        Attention.checkInputs("attentionForward", q, k, v, keyPadding, scale);
        Attention.checkForwardOutputs("attentionForward", q, out, logSumExp);
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3), tk = k.size(2);
        Rows qr = Rows.of(q), kr = Rows.of(k), vr = Rows.of(v), or = Rows.of(out);
        View lv = View.of(logSumExp);
        Object lse = lv.array;
        int lseOffset = (int) lv.offset;
        boolean[] pad = padding(keyPadding);
        CpuPool.forEachTask(batch * heads, task -> {
            int b = task / heads, h = task % heads;
            double[] keys = new double[tk * hd], values = new double[tk * hd];
            for (int j = 0; j < tk; j++) {
                kr.load(b, h, j, keys, j * hd);
                vr.load(b, h, j, values, j * hd);
            }
            double[] query = new double[hd], acc = new double[hd], scores = new double[tk];
            for (int i = 0; i < tq; i++) {
                qr.load(b, h, i, query, 0);
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < tk; j++) {
                    if (!visible(pad, b, tk, tq, causal, i, j)) { scores[j] = Double.NEGATIVE_INFINITY; continue; }
                    double dot = 0;
                    for (int d = 0; d < hd; d++) dot += query[d] * keys[j * hd + d];
                    scores[j] = scale * dot;
                    max = Math.max(max, scores[j]);
                }
                java.util.Arrays.fill(acc, 0);
                int row = lseOffset + task * tq + i;
                if (max == Double.NEGATIVE_INFINITY) {  // no visible key: out 0, logSumExp -inf
                    or.store(b, h, i, acc, 0, 1);
                    storeScalar(lse, row, Double.NEGATIVE_INFINITY);
                    continue;
                }
                double sum = 0;
                for (int j = 0; j < tk; j++) {
                    if (scores[j] == Double.NEGATIVE_INFINITY) continue;
                    double p = Math.exp(scores[j] - max);
                    sum += p;
                    for (int d = 0; d < hd; d++) acc[d] += p * values[j * hd + d];
                }
                or.store(b, h, i, acc, 0, 1 / sum);
                storeScalar(lse, row, max + Math.log(sum));
            }
        });
    }

    static void backward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor gradOut,
                         Tensor logSumExp, Tensor gradQ, Tensor gradK, Tensor gradV) {
        Attention.checkInputs("attentionBackward", q, k, v, keyPadding, scale);
        Attention.checkBackwardArguments("attentionBackward", q, k, out, gradOut, logSumExp, gradQ, gradK, gradV);
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3), tk = k.size(2);
        Rows qr = Rows.of(q), kr = Rows.of(k), vr = Rows.of(v), or = Rows.of(out), gr = Rows.of(gradOut);
        Rows gqr = Rows.of(gradQ), gkr = Rows.of(gradK), gvr = Rows.of(gradV);
        View lv = View.of(logSumExp);
        Object lse = lv.array;
        int lseOffset = (int) lv.offset;
        boolean[] pad = padding(keyPadding);
        CpuPool.forEachTask(batch * heads, task -> {
            int b = task / heads, h = task % heads;
            double[] keys = new double[tk * hd], values = new double[tk * hd];
            double[] gk = new double[tk * hd], gv = new double[tk * hd];
            for (int j = 0; j < tk; j++) {
                kr.load(b, h, j, keys, j * hd);
                vr.load(b, h, j, values, j * hd);
            }
            double[] query = new double[hd], output = new double[hd], dOut = new double[hd], gq = new double[hd];
            for (int i = 0; i < tq; i++) {
                java.util.Arrays.fill(gq, 0);
                double rowLse = loadScalar(lse, lseOffset + task * tq + i);
                if (rowLse != Double.NEGATIVE_INFINITY) {  // a row that saw no key passes no gradient
                    qr.load(b, h, i, query, 0);
                    or.load(b, h, i, output, 0);
                    gr.load(b, h, i, dOut, 0);
                    double rowD = 0;
                    for (int d = 0; d < hd; d++) rowD += dOut[d] * output[d];
                    for (int j = 0; j < tk; j++) {
                        if (!visible(pad, b, tk, tq, causal, i, j)) continue;
                        int kj = j * hd;
                        double dot = 0, dp = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += query[d] * keys[kj + d];
                            dp += dOut[d] * values[kj + d];
                        }
                        double p = Math.exp(scale * dot - rowLse);
                        double ds = p * (dp - rowD);
                        for (int d = 0; d < hd; d++) {
                            gv[kj + d] += p * dOut[d];
                            gq[d] += ds * keys[kj + d];
                            gk[kj + d] += ds * query[d];
                        }
                    }
                }
                gqr.store(b, h, i, gq, 0, scale);
            }
            for (int j = 0; j < tk; j++) {
                gkr.store(b, h, j, gk, j * hd, scale);
                gvr.store(b, h, j, gv, j * hd, 1);
            }
        });
    }
}
