package io.reg4rec.train.features;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Randomized SVD against Commons Math's exact SVD on small sparse matrices. */
class SvdFeatureTest {

    /** A sparse matrix with a planted spectrum: rank-8 signal with decaying singular values plus sparse noise. */
    private static double[][] plantedMatrix(int rows, int cols, long seed) {
        Random rng = new Random(seed);
        double[][] a = new double[rows][cols];
        for (int r = 0; r < 8; r++) {
            double[] u = new double[rows], v = new double[cols];
            for (int i = 0; i < rows; i++) u[i] = rng.nextGaussian();
            for (int j = 0; j < cols; j++) v[j] = rng.nextGaussian();
            double scale = 10.0 / (r + 1);
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) a[i][j] += scale * u[i] * v[j] / Math.sqrt(rows * cols);
        }
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) if (rng.nextDouble() < 0.1) a[i][j] += 0.01 * rng.nextGaussian();
        return a;
    }

    private static SparseMatrix toSparse(double[][] a) {
        int rows = a.length, cols = a[0].length;
        int[] r = new int[rows * cols], c = new int[rows * cols];
        float[] v = new float[rows * cols];
        int n = 0;
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) if (a[i][j] != 0) { r[n] = i; c[n] = j; v[n++] = (float) a[i][j]; }
        return SparseMatrix.fromTriplets(rows, cols, r, c, v, n);
    }

    @Test
    void singularValuesAndSubspaceMatchExactSvd() {
        double[][] a = plantedMatrix(150, 90, 3);
        SingularValueDecomposition exact = new SingularValueDecomposition(new Array2DRowRealMatrix(a));
        double[] sigma = exact.getSingularValues();
        int rank = 6;
        RandomizedSvd.Result approx = RandomizedSvd.compute(toSparse(a), rank, 8, 2, 1.0, 11);
        for (int j = 0; j < rank; j++) {
            assertEquals(sigma[j], approx.singularValues()[j], 1e-3 * sigma[0], "singular value " + j);
        }
        // exponent 1: the embedding is U Sigma, so its Gram matrix equals that of the exact rank-6 U Sigma (sign/rotation free)
        double[][] u = exact.getU().getData();
        for (int p = 0; p < 150; p += 7) {
            for (int q = 0; q < 150; q += 11) {
                double e = 0, g = 0;
                for (int j = 0; j < rank; j++) {
                    e += u[p][j] * u[q][j] * sigma[j] * sigma[j];
                    g += approx.embedding()[p * rank + j] * approx.embedding()[q * rank + j];
                }
                assertEquals(e, g, 2e-3 * sigma[0] * sigma[0], "row pair " + p + "," + q);
            }
        }
    }

    @Test
    void rankDeficientInputYieldsZeroColumnsBeyondTheRank() {
        // rank 3 exactly, asked for 10 columns
        Random rng = new Random(5);
        double[][] a = new double[40][25];
        for (int r = 0; r < 3; r++) {
            double[] u = new double[40], v = new double[25];
            for (int i = 0; i < 40; i++) u[i] = rng.nextGaussian();
            for (int j = 0; j < 25; j++) v[j] = rng.nextGaussian();
            for (int i = 0; i < 40; i++) for (int j = 0; j < 25; j++) a[i][j] += u[i] * v[j];
        }
        RandomizedSvd.Result approx = RandomizedSvd.compute(toSparse(a), 10, 4, 2, 1.0, 1);
        double[] sigma = new SingularValueDecomposition(new Array2DRowRealMatrix(a)).getSingularValues();
        for (int j = 0; j < 3; j++) assertEquals(sigma[j], approx.singularValues()[j], 1e-3 * sigma[0]);
        for (int j = 3; j < approx.singularValues().length; j++) assertTrue(approx.singularValues()[j] < 1e-2 * sigma[0]);
        for (float x : approx.embedding()) assertTrue(Float.isFinite(x));
    }

    @Test
    void ppmiIsZeroWithoutCooccurrenceAndPositiveForFrequentPairs() {
        // items 1 and 2 always together, 3..6 spread around: PPMI(1,2) > 0, pairs never adjacent absent
        int[][] seqs = {{1, 2, 3}, {1, 2, 4}, {1, 2, 5}, {3, 4, 5, 6}, {6, 5, 4, 3}};
        SparseMatrix p = ItemFeatures.ppmi(seqs, 6, 1);
        // by hand (window 1): symmetric counts C12=3, C23=C24=C25=1, C34=C45=C56=2; row sums r = (3, 6, 3, 5, 5, 2), total 24;
        // smoothed context mass Z = sum r^0.75 = 16.7619. PPMI(1,2) = ln(3/24) - ln(3/24) - ln(6^0.75 / Z) = 1.4753;
        // PPMI(2,1) = ln(3/24) - ln(6/24) - ln(3^0.75 / Z) = 1.3020 (context smoothing makes it asymmetric)
        assertEquals(1.4753, value(p, 1, 2), 1e-3);
        assertEquals(1.3020, value(p, 2, 1), 1e-3);
        assertEquals(0, value(p, 1, 3), 0.0, "1 and 3 are never within one position");
        assertEquals(0, p.rowLength(0), "padding row is empty");
    }

    private static float value(SparseMatrix m, int i, int j) {
        for (int p = m.rowStart[i]; p < m.rowStart[i + 1]; p++) if (m.colIndex[p] == j) return m.values[p];
        return 0f;
    }
}
