package io.reg4rec.train.features;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * A compressed-sparse-row float matrix with the two products randomized SVD needs: A X and
 * A^T X for dense row-major X. Both run row-parallel (A^T X through a stored transpose, so no
 * two threads write the same output row).
 */
final class SparseMatrix {
    final int rows, cols;
    final int[] rowStart;
    final int[] colIndex;
    final float[] values;
    private SparseMatrix transpose;

    private SparseMatrix(int rows, int cols, int[] rowStart, int[] colIndex, float[] values) {
        this.rows = rows;
        this.cols = cols;
        this.rowStart = rowStart;
        this.colIndex = colIndex;
        this.values = values;
    }

    /** Builds from unordered (row, col, value) triplets; repeated positions are summed, zeros dropped. */
    static SparseMatrix fromTriplets(int rows, int cols, int[] r, int[] c, float[] v, int count) {
        int[] perRow = new int[rows + 1];
        for (int k = 0; k < count; k++) perRow[r[k] + 1]++;
        for (int i = 0; i < rows; i++) perRow[i + 1] += perRow[i];
        int[] fill = Arrays.copyOf(perRow, rows);
        int[] ci = new int[count];
        float[] vi = new float[count];
        for (int k = 0; k < count; k++) {
            int p = fill[r[k]]++;
            ci[p] = c[k];
            vi[p] = v[k];
        }
        // sort each row by column and merge duplicates
        int[] start = new int[rows + 1];
        int out = 0;
        long[] keyed = new long[0];
        for (int i = 0; i < rows; i++) {
            int a = perRow[i], b = perRow[i + 1], n = b - a;
            start[i] = out;
            if (keyed.length < n) keyed = new long[Math.max(n, keyed.length * 2)];
            for (int p = 0; p < n; p++) keyed[p] = ((long) ci[a + p] << 32) | (p & 0xffffffffL);
            Arrays.sort(keyed, 0, n);
            float[] rowValues = Arrays.copyOfRange(vi, a, b);
            int last = -1;
            for (int p = 0; p < n; p++) {
                int col = (int) (keyed[p] >>> 32);
                float val = rowValues[(int) keyed[p]];
                if (col == last) {
                    vi[out - 1] += val;
                } else {
                    ci[out] = col;
                    vi[out] = val;
                    out++;
                    last = col;
                }
            }
        }
        start[rows] = out;
        // drop exact zeros left by merging
        int w = 0;
        int[] finalStart = new int[rows + 1];
        for (int i = 0; i < rows; i++) {
            finalStart[i] = w;
            for (int p = start[i]; p < start[i + 1]; p++) {
                if (vi[p] != 0f) {
                    ci[w] = ci[p];
                    vi[w] = vi[p];
                    w++;
                }
            }
        }
        finalStart[rows] = w;
        return new SparseMatrix(rows, cols, finalStart, Arrays.copyOf(ci, w), Arrays.copyOf(vi, w));
    }

    int nonZeros() { return rowStart[rows]; }

    /** Number of stored entries in row i. */
    int rowLength(int i) { return rowStart[i + 1] - rowStart[i]; }

    /** A new matrix with the same pattern and values mapped per entry (row, col, value) -> value'. */
    SparseMatrix mapValues(EntryFunction f) {
        float[] v = new float[values.length];
        for (int i = 0; i < rows; i++) {
            for (int p = rowStart[i]; p < rowStart[i + 1]; p++) v[p] = f.apply(i, colIndex[p], values[p]);
        }
        return fromCsr(v);
    }

    interface EntryFunction {
        float apply(int row, int col, float value);
    }

    private SparseMatrix fromCsr(float[] v) {
        int[] rs = new int[rows + 1], ci = new int[colIndex.length];
        float[] vv = new float[colIndex.length];
        int w = 0;
        for (int i = 0; i < rows; i++) {
            rs[i] = w;
            for (int p = rowStart[i]; p < rowStart[i + 1]; p++) {
                if (v[p] != 0f) {
                    ci[w] = colIndex[p];
                    vv[w] = v[p];
                    w++;
                }
            }
        }
        rs[rows] = w;
        return new SparseMatrix(rows, cols, rs, Arrays.copyOf(ci, w), Arrays.copyOf(vv, w));
    }

    /** Scales every row to unit L2 norm (empty rows stay empty). */
    SparseMatrix normalizeRows() {
        float[] v = values.clone();
        for (int i = 0; i < rows; i++) {
            double s = 0;
            for (int p = rowStart[i]; p < rowStart[i + 1]; p++) s += (double) v[p] * v[p];
            if (s > 0) {
                float inv = (float) (1 / Math.sqrt(s));
                for (int p = rowStart[i]; p < rowStart[i + 1]; p++) v[p] *= inv;
            }
        }
        return new SparseMatrix(rows, cols, rowStart, colIndex, v);
    }

    SparseMatrix transposed() {
        if (transpose == null) {
            int n = nonZeros();
            int[] r = new int[n], c = new int[n];
            for (int i = 0; i < rows; i++) {
                for (int p = rowStart[i]; p < rowStart[i + 1]; p++) {
                    r[p] = colIndex[p];
                    c[p] = i;
                }
            }
            transpose = fromTriplets(cols, rows, r, c, values, n);
            transpose.transpose = this;
        }
        return transpose;
    }

    /** A X for X dense row-major [cols x k]; returns [rows x k] row-major. */
    float[] multiply(float[] x, int k) {
        if (x.length != (long) cols * k) throw new IllegalArgumentException("SparseMatrix.multiply: X has " + x.length + " values, expected " + cols + " x " + k);
        float[] out = new float[rows * k];
        IntStream.range(0, rows).parallel().forEach(i -> {
            int o = i * k;
            for (int p = rowStart[i]; p < rowStart[i + 1]; p++) {
                float a = values[p];
                int xo = colIndex[p] * k;
                for (int j = 0; j < k; j++) out[o + j] += a * x[xo + j];
            }
        });
        return out;
    }

    /** A^T X for X dense row-major [rows x k]; returns [cols x k] row-major. */
    float[] transposeMultiply(float[] x, int k) {
        return transposed().multiply(x, k);
    }
}
