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
        if (inner == 1) {
            reduceRows(op, in, out, outer, n, grain);
            return;
        }
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

    /** Reduction along the last axis: each row is read in contiguous chunks, combined in order. */
    private static void reduceRows(ReduceOp op, View in, View out, long rows, int n, long grain) {
        boolean floating = in.dtype.isFloating();
        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
        CpuPool.parallelFor(rows, Math.max(1, grain / Math.max(1, n)), (s, e) -> {
            int[] idx = new int[CHUNK];
            double[] dv = new double[CHUNK], dres = new double[1];
            long[] lv = new long[CHUNK], lres = new long[1];
            for (long row = s; row < e; row++) {
                long rowStart = row * n;
                if (floating) {
                    double acc = op == ReduceOp.SUM ? 0.0 : Double.NaN;
                    long best = 0;
                    for (int j0 = 0; j0 < n; j0 += CHUNK) {
                        int len = Math.min(CHUNK, n - j0);
                        in.loadDouble(rowStart + j0, len, dv, idx);
                        int i = 0;
                        if (j0 == 0 && op != ReduceOp.SUM) { acc = dv[0]; i = 1; }
                        switch (op) {
                            case SUM -> { for (; i < len; i++) acc += dv[i]; }
                            case MAX -> { for (; i < len; i++) acc = Math.max(acc, dv[i]); }
                            case MIN -> { for (; i < len; i++) acc = Math.min(acc, dv[i]); }
                            case ARGMAX -> { for (; i < len; i++) if (acc == acc && (dv[i] > acc || dv[i] != dv[i])) { acc = dv[i]; best = j0 + i; } }
                            case ARGMIN -> { for (; i < len; i++) if (acc == acc && (dv[i] < acc || dv[i] != dv[i])) { acc = dv[i]; best = j0 + i; } }
                        }
                    }
                    if (arg) {
                        lres[0] = best;
                        out.storeLong(row, 1, lres);
                    } else {
                        dres[0] = acc;
                        View.roundThroughFloat(out.dtype, dres, 1);
                        out.storeDouble(row, 1, dres);
                    }
                } else {
                    long acc = 0, best = 0;
                    for (int j0 = 0; j0 < n; j0 += CHUNK) {
                        int len = Math.min(CHUNK, n - j0);
                        in.loadLong(rowStart + j0, len, lv, idx);
                        int i = 0;
                        if (j0 == 0 && op != ReduceOp.SUM) { acc = lv[0]; i = 1; }
                        switch (op) {
                            case SUM -> { for (; i < len; i++) acc += lv[i]; }
                            case MAX -> { for (; i < len; i++) acc = Math.max(acc, lv[i]); }
                            case MIN -> { for (; i < len; i++) acc = Math.min(acc, lv[i]); }
                            case ARGMAX -> { for (; i < len; i++) if (lv[i] > acc) { acc = lv[i]; best = j0 + i; } }
                            case ARGMIN -> { for (; i < len; i++) if (lv[i] < acc) { acc = lv[i]; best = j0 + i; } }
                        }
                    }
                    lres[0] = arg ? best : acc;
                    out.storeLong(row, 1, lres);
                }
            }
        });
    }

    /** Numerically stable softmax / log-softmax along the middle axis, in double, rounded through fp32. */
    static void softmax(View in, View out, long outer, int n, long inner, boolean log, long grain) {
        if (inner == 1) {
            softmaxRows(in, out, outer, n, log, grain);
            return;
        }
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

    /** Softmax along the last axis: three in-order passes over each row's contiguous chunks. */
    private static void softmaxRows(View in, View out, long rows, int n, boolean log, long grain) {
        CpuPool.parallelFor(rows, Math.max(1, grain / Math.max(1, n)), (s, e) -> {
            int[] idx = new int[CHUNK];
            double[] v = new double[CHUNK];
            for (long row = s; row < e; row++) {
                long rowStart = row * n;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j0 = 0; j0 < n; j0 += CHUNK) {
                    int len = Math.min(CHUNK, n - j0);
                    in.loadDouble(rowStart + j0, len, v, idx);
                    for (int i = 0; i < len; i++) max = Math.max(max, v[i]);
                }
                for (int j0 = 0; j0 < n; j0 += CHUNK) {
                    int len = Math.min(CHUNK, n - j0);
                    in.loadDouble(rowStart + j0, len, v, idx);
                    for (int i = 0; i < len; i++) sum += Math.exp(v[i] - max);
                }
                double logSum = Math.log(sum);
                for (int j0 = 0; j0 < n; j0 += CHUNK) {
                    int len = Math.min(CHUNK, n - j0);
                    in.loadDouble(rowStart + j0, len, v, idx);
                    if (log) for (int i = 0; i < len; i++) v[i] = v[i] - max - logSum;
                    else for (int i = 0; i < len; i++) v[i] = Math.exp(v[i] - max) / sum;
                    View.roundThroughFloat(out.dtype, v, len);
                    out.storeDouble(rowStart + j0, len, v);
                }
            }
        });
    }
}
