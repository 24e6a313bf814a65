package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.ReduceOp;

/**
 * Reductions and softmax over a contiguous input viewed as [outer, n, inner] (the reduced axis
 * in the middle). Each output element is combined over j = 0..n-1 in order, whatever thread
 * computes it, so results are bit-identical for any thread count. Float sums accumulate in double.
 */
final class Reductions {
    private Reductions() {}

    private static final int CHUNK = 1024;

    /** Work units: (o, a chunk of up to CHUNK inner positions). */
    private static long units(long outer, long inner) {
        return outer * ((inner + CHUNK - 1) / CHUNK);
    }

    static void reduce(ReduceOp op, View in, View out, long outer, int n, long inner, long grain) {
        long chunksPerRow = (inner + CHUNK - 1) / CHUNK;
        long total = units(outer, inner);
        long unitGrain = Math.max(1, grain / Math.max(1, (long) n * Math.min(inner, CHUNK)));
        boolean floating = in.dtype.isFloating();
        CpuPool.parallelFor(total, unitGrain, (s, e) -> {
            int[] idx = new int[CHUNK];
            double[] dacc = new double[CHUNK], dv = new double[CHUNK];
            long[] lacc = new long[CHUNK], lv = new long[CHUNK], arg = new long[CHUNK];
            for (long u = s; u < e; u++) {
                long o = u / chunksPerRow;
                long i0 = (u % chunksPerRow) * CHUNK;
                int len = (int) Math.min(CHUNK, inner - i0);
                long rowStart = o * n * inner + i0;
                if (floating) {
                    reduceFloat(op, in, rowStart, n, inner, len, idx, dacc, dv, arg);
                    long outStart = o * inner + i0;
                    if (op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN) {
                        out.storeLong(outStart, len, arg);
                    } else {
                        View.roundThroughFloat(out.dtype, dacc, len);
                        out.storeDouble(outStart, len, dacc);
                    }
                } else {
                    reduceLong(op, in, rowStart, n, inner, len, idx, lacc, lv, arg);
                    out.storeLong(o * inner + i0, len, op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN ? arg : lacc);
                }
            }
        });
    }

    private static void reduceFloat(ReduceOp op, View in, long rowStart, int n, long inner, int len,
                                    int[] idx, double[] acc, double[] v, long[] arg) {
        for (int j = 0; j < n; j++) {
            in.loadDouble(rowStart + j * inner, len, v, idx);
            if (j == 0 && op != ReduceOp.SUM) {
                System.arraycopy(v, 0, acc, 0, len);
                java.util.Arrays.fill(arg, 0, len, 0);
                continue;
            }
            if (j == 0) java.util.Arrays.fill(acc, 0, len, 0.0);
            switch (op) {
                case SUM -> { for (int i = 0; i < len; i++) acc[i] += v[i]; }
                case MAX -> { for (int i = 0; i < len; i++) acc[i] = Math.max(acc[i], v[i]); } // NaN propagates
                case MIN -> { for (int i = 0; i < len; i++) acc[i] = Math.min(acc[i], v[i]); }
                // NaN counts as the largest (and, for ARGMIN, the smallest) value; the first one wins.
                case ARGMAX -> { for (int i = 0; i < len; i++) if (acc[i] == acc[i] && (v[i] > acc[i] || v[i] != v[i])) { acc[i] = v[i]; arg[i] = j; } }
                case ARGMIN -> { for (int i = 0; i < len; i++) if (acc[i] == acc[i] && (v[i] < acc[i] || v[i] != v[i])) { acc[i] = v[i]; arg[i] = j; } }
            }
        }
        if (n == 0) java.util.Arrays.fill(acc, 0, len, 0.0);
    }

    private static void reduceLong(ReduceOp op, View in, long rowStart, int n, long inner, int len,
                                   int[] idx, long[] acc, long[] v, long[] arg) {
        for (int j = 0; j < n; j++) {
            in.loadLong(rowStart + j * inner, len, v, idx);
            if (j == 0 && op != ReduceOp.SUM) {
                System.arraycopy(v, 0, acc, 0, len);
                java.util.Arrays.fill(arg, 0, len, 0);
                continue;
            }
            if (j == 0) java.util.Arrays.fill(acc, 0, len, 0L);
            switch (op) {
                case SUM -> { for (int i = 0; i < len; i++) acc[i] += v[i]; }
                case MAX -> { for (int i = 0; i < len; i++) acc[i] = Math.max(acc[i], v[i]); }
                case MIN -> { for (int i = 0; i < len; i++) acc[i] = Math.min(acc[i], v[i]); }
                case ARGMAX -> { for (int i = 0; i < len; i++) if (v[i] > acc[i]) { acc[i] = v[i]; arg[i] = j; } }
                case ARGMIN -> { for (int i = 0; i < len; i++) if (v[i] < acc[i]) { acc[i] = v[i]; arg[i] = j; } }
            }
        }
        if (n == 0) java.util.Arrays.fill(acc, 0, len, 0L);
    }

    /** Numerically stable softmax / log-softmax along the middle axis, in double, rounded through fp32. */
    static void softmax(View in, View out, long outer, int n, long inner, boolean log, long grain) {
        long chunksPerRow = (inner + CHUNK - 1) / CHUNK;
        long total = units(outer, inner);
        long unitGrain = Math.max(1, grain / Math.max(1, (long) n * Math.min(inner, CHUNK)));
        CpuPool.parallelFor(total, unitGrain, (s, e) -> {
            int[] idx = new int[CHUNK];
            double[] max = new double[CHUNK], sum = new double[CHUNK], v = new double[CHUNK];
            for (long u = s; u < e; u++) {
                long o = u / chunksPerRow;
                long i0 = (u % chunksPerRow) * CHUNK;
                int len = (int) Math.min(CHUNK, inner - i0);
                long rowStart = o * n * inner + i0;
                java.util.Arrays.fill(max, 0, len, Double.NEGATIVE_INFINITY);
                java.util.Arrays.fill(sum, 0, len, 0.0);
                for (int j = 0; j < n; j++) {
                    in.loadDouble(rowStart + j * inner, len, v, idx);
                    for (int i = 0; i < len; i++) max[i] = Math.max(max[i], v[i]);
                }
                for (int j = 0; j < n; j++) {
                    in.loadDouble(rowStart + j * inner, len, v, idx);
                    for (int i = 0; i < len; i++) sum[i] += Math.exp(v[i] - max[i]);
                }
                if (log) for (int i = 0; i < len; i++) sum[i] = Math.log(sum[i]);
                for (int j = 0; j < n; j++) {
                    long at = rowStart + j * inner;
                    in.loadDouble(at, len, v, idx);
                    if (log) for (int i = 0; i < len; i++) v[i] = v[i] - max[i] - sum[i];
                    else for (int i = 0; i < len; i++) v[i] = Math.exp(v[i] - max[i]) / sum[i];
                    View.roundThroughFloat(out.dtype, v, len);
                    out.storeDouble(at, len, v);
                }
            }
        });
    }
}
