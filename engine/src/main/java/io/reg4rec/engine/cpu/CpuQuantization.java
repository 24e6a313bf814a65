package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Tensor;

/**
 * CPU reference of the MPQ primitives (SPEC 1, 4): nearest-codeword lookup, the gated codeword
 * sum and its backward, and the relaxed-retrieval match count. Floats compute in fp64 and round
 * once on store (F32 tensors) or not at all (F64). Each output element is computed by one task in
 * a fixed order, so results never depend on the thread count. Arguments are checked by the
 * caller (CpuBackend, through QuantChecks); codeword indices are range-checked here.
 */
final class CpuQuantization {
    private static final long GRAIN = 1L << 12;

    private CpuQuantization() {}

    /** A contiguous F32 or F64 tensor read as doubles. */
    static final class Floats {
        final float[] f;
        final double[] d;
        final int base;

        Floats(Tensor t) {
            View v = View.of(t);
            f = v.array instanceof float[] a ? a : null;
            d = v.array instanceof double[] a ? a : null;
            base = (int) v.offset;
        }

        double at(long i) { return f != null ? f[base + (int) i] : d[base + (int) i]; }

        void set(long i, double value) {
            if (f != null) f[base + (int) i] = (float) value;
            else d[base + (int) i] = value;
        }

        /** Elements [from, from + n) as doubles. */
        double[] copy(long from, int n) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) out[i] = at(from + i);
            return out;
        }
    }

    static final class Ints {
        final int[] a;
        final int base;

        Ints(Tensor t) {
            View v = View.of(t);
            a = (int[]) v.array;
            base = (int) v.offset;
        }

        int at(long i) { return a[base + (int) i]; }

        void set(long i, int value) { a[base + (int) i] = value; }
    }

    static void nearestCodeword(Tensor z, Tensor codebooks, Tensor indices, Tensor distances) {
        int n = z.size(0), m = z.size(1), dc = z.size(2), d = codebooks.size(1);
        Floats zs = new Floats(z), out = new Floats(distances);
        double[] cb = new Floats(codebooks).copy(0, (int) codebooks.numel());
        Ints idx = new Ints(indices);
        CpuPool.parallelFor((long) n * m, Math.max(1, GRAIN / Math.max(1, (long) d * dc / 64)), (s, e) -> {
            double[] row = new double[dc];
            for (long task = s; task < e; task++) {
                int book = (int) (task % m);
                for (int k = 0; k < dc; k++) row[k] = zs.at(task * dc + k);
                int best = 0;
                double bestDistance = Double.POSITIVE_INFINITY;
                int cbBase = book * d * dc;
                for (int j = 0; j < d; j++) {
                    double sum = 0;
                    int c = cbBase + j * dc;
                    for (int k = 0; k < dc; k++) {
                        double diff = row[k] - cb[c + k];
                        sum += diff * diff;
                    }
                    if (sum < bestDistance) { // strict: ties keep the lowest j
                        bestDistance = sum;
                        best = j;
                    }
                }
                idx.set(task, best);
                out.set(task, bestDistance);
            }
        });
    }

    /** Throws before anything is written when an index lies outside [0, D). */
    private static void checkIndices(String op, Ints idx, long count, int m, int d) {
        CpuPool.parallelFor(count, 1L << 15, (s, e) -> {
            for (long i = s; i < e; i++) {
                int v = idx.at(i);
                if (v < 0 || v >= d) {
                    throw new IndexOutOfBoundsException(op + ": indices[" + (i / m) + ", " + (i % m) + "] = " + v + " is out of range [0, " + d + ")");
                }
            }
        });
    }

    static void codewordSum(Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        int n = indices.size(0), m = indices.size(1), d = codebooks.size(1), dc = codebooks.size(2);
        Ints idx = new Ints(indices);
        checkIndices("codewordSum", idx, (long) n * m, m, d);
        Floats cb = new Floats(codebooks), g = new Floats(gates), o = new Floats(out);
        CpuPool.parallelFor(n, Math.max(1, GRAIN / Math.max(1, (long) m * dc / 16)), (s, e) -> {
            double[] acc = new double[dc];
            for (long item = s; item < e; item++) {
                java.util.Arrays.fill(acc, 0);
                for (int book = 0; book < m; book++) {
                    double gate = g.at(item * m + book);
                    long c = ((long) book * d + idx.at(item * m + book)) * dc;
                    for (int k = 0; k < dc; k++) acc[k] += gate * cb.at(c + k);
                }
                for (int k = 0; k < dc; k++) o.set(item * dc + k, acc[k]);
            }
        });
    }

    /** Columns of a codebook one scatter task owns (a task is one codebook and one column block). */
    private static final int SCATTER_COLUMNS = 16;

    static void codewordSumBackward(Tensor codebooks, Tensor indices, Tensor gates, Tensor gradOut, Tensor gradCodebooks, Tensor gradGates) {
        int n = indices.size(0), m = indices.size(1), d = codebooks.size(1), dc = codebooks.size(2);
        Ints idx = new Ints(indices);
        checkIndices("codewordSumBackward", idx, (long) n * m, m, d);
        Floats cb = new Floats(codebooks), g = new Floats(gates), go = new Floats(gradOut);
        Floats gcb = new Floats(gradCodebooks), gg = new Floats(gradGates);
        // gradGates[n, m] = gradOut[n] . C[m, idx[n, m]]
        CpuPool.parallelFor((long) n * m, Math.max(1, GRAIN / Math.max(1, dc / 16)), (s, e) -> {
            for (long t = s; t < e; t++) {
                long item = t / m;
                int book = (int) (t % m);
                long c = ((long) book * d + idx.at(t)) * dc;
                double sum = 0;
                for (int k = 0; k < dc; k++) sum += go.at(item * dc + k) * cb.at(c + k);
                gg.set(t, sum);
            }
        });
        // gradCodebooks: each (codebook, column block) is owned by one task that visits items in
        // order, accumulating in fp64 on top of the existing values and rounding once at the end.
        int blocks = (dc + SCATTER_COLUMNS - 1) / SCATTER_COLUMNS;
        CpuPool.forEachTask(m * blocks, task -> {
            int book = task / blocks, k0 = (task % blocks) * SCATTER_COLUMNS, width = Math.min(SCATTER_COLUMNS, dc - k0);
            double[] acc = new double[d * width];
            long bookBase = (long) book * d * dc;
            for (int j = 0; j < d; j++) for (int k = 0; k < width; k++) acc[j * width + k] = gcb.at(bookBase + (long) j * dc + k0 + k);
            for (long item = 0; item < n; item++) {
                int j = idx.at(item * m + book);
                double gate = g.at(item * m + book);
                long src = item * dc + k0;
                int dst = j * width;
                for (int k = 0; k < width; k++) acc[dst + k] += gate * go.at(src + k);
            }
            for (int j = 0; j < d; j++) for (int k = 0; k < width; k++) gcb.set(bookBase + (long) j * dc + k0 + k, acc[j * width + k]);
        });
    }

    static void relaxedMatchCount(Tensor paths, Tensor items, Tensor counts) {
        int p = paths.size(0), n = items.size(0), m = paths.size(1);
        Ints pa = new Ints(paths), it = new Ints(items), out = new Ints(counts);
        CpuPool.parallelFor((long) p * n, 1L << 14, (s, e) -> {
            for (long t = s; t < e; t++) {
                long path = t / n, item = t % n;
                int count = 0;
                for (int k = 0; k < m; k++) if (pa.at(path * m + k) == it.at(item * m + k)) count++;
                out.set(t, count);
            }
        });
    }
}
