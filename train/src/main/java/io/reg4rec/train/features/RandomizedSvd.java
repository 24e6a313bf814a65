package io.reg4rec.train.features;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.MatrixUtils;
import org.apache.commons.math3.linear.NonPositiveDefiniteMatrixException;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.RealVector;
import org.apache.commons.math3.linear.EigenDecomposition;

import java.util.Arrays;
import java.util.Random;

/**
 * Truncated SVD of a sparse matrix by randomized range finding (Halko, Martinsson and Tropp,
 * 2011, algorithms 4.4 and 5.1): sketch Y = A Omega with a Gaussian Omega of rank + oversample
 * columns, sharpen with power iterations (re-orthonormalising after each product), then take the
 * SVD of the small projection B = Q^T A.
 *
 * <p>The dense work runs on the engine's CPU GEMM: Gram matrices Y^T Y and B B^T, and the
 * products Y V and Q V. The small symmetric eigenproblems (sketch size squared) run in Commons
 * Math in double precision. Orthonormalisation is Cholesky QR done twice (CholeskyQR2: Q = Y R^-1
 * with R^T R = Y^T Y); when Y^T Y is numerically singular it is "eigen-QR" instead,
 * Q = Y V Lambda^(-1/2) keeping only directions above the null threshold, so a rank-deficient sketch
 * (a small vocabulary, a block wider than the data) just yields fewer columns.
 */
final class RandomizedSvd {
    /** Eigenvalues of a Gram matrix below this share of the largest are treated as zero. */
    private static final double NULL_SHARE = 1e-6;

    private RandomizedSvd() {}

    /**
     * Left singular vectors scaled by sigma^exponent: [rows x width] row-major with width =
     * rank; columns beyond the numerical rank of the sketch are zero.
     */
    record Result(float[] embedding, int width, double[] singularValues) {}

    static Result compute(SparseMatrix a, int rank, int oversample, int powerIterations, double exponent, long seed) {
        int n = a.rows, d = a.cols;
        int sketch = Math.min(rank + oversample, Math.min(n, d));
        if (rank < 1 || sketch < 1 || a.nonZeros() == 0) return new Result(new float[n * Math.max(rank, 0)], rank, new double[0]);
        Random rng = new Random(seed);
        float[] omega = new float[d * sketch];
        for (int i = 0; i < omega.length; i++) omega[i] = (float) rng.nextGaussian();
        Basis q = orthonormalize(a.multiply(omega, sketch), n, sketch);
        for (int it = 0; it < powerIterations; it++) {
            Basis z = orthonormalize(a.transposeMultiply(q.values, q.cols), d, q.cols);
            q = orthonormalize(a.multiply(z.values, z.cols), n, z.cols);
        }
        // B^T = A^T Q [d x c]; B B^T = (A^T Q)^T (A^T Q) [c x c]; its eigenvectors V rotate Q into U = Q V
        int c = q.cols;
        float[] bt = a.transposeMultiply(q.values, c);
        double[][] gram = gram(bt, d, c);
        Eigen eig = eigen(gram);
        int kept = Math.min(rank, eig.count);
        float[] rotation = new float[c * rank];
        double[] sigma = new double[kept];
        for (int j = 0; j < kept; j++) {
            sigma[j] = Math.sqrt(Math.max(0, eig.values[j]));
            double scale = Math.pow(sigma[j], exponent);
            for (int i = 0; i < c; i++) rotation[i * rank + j] = (float) (eig.vectors[i][j] * scale);
        }
        return new Result(multiply(q.values, n, c, rotation, rank), rank, sigma);
    }

    /** An orthonormal basis, [rows x cols] row-major. */
    private record Basis(float[] values, int cols) {}

    private static Basis orthonormalize(float[] y, int rows, int cols) {
        Basis once = orthonormalizeOnce(y, rows, cols);
        return orthonormalizeOnce(once.values, rows, once.cols);
    }

    /**
     * One pass of Cholesky QR (Q = Y R^-1 with R^T R = Y^T Y); when the Gram matrix is
     * numerically singular, eigen-QR instead, which drops the null directions.
     */
    private static Basis orthonormalizeOnce(float[] y, int rows, int cols) {
        double[][] gram = gram(y, rows, cols);
        double largestDiagonal = 0;
        for (int i = 0; i < cols; i++) largestDiagonal = Math.max(largestDiagonal, gram[i][i]);
        if (largestDiagonal > 0) {
            try {
                CholeskyDecomposition chol = new CholeskyDecomposition(new Array2DRowRealMatrix(gram, false),
                        CholeskyDecomposition.DEFAULT_RELATIVE_SYMMETRY_THRESHOLD, NULL_SHARE * largestDiagonal);
                RealMatrix r = chol.getLT();
                float[] rInverse = new float[cols * cols];
                for (int j = 0; j < cols; j++) {
                    RealVector unit = new ArrayRealVector(cols);
                    unit.setEntry(j, 1);
                    MatrixUtils.solveUpperTriangularSystem(r, unit); // unit now holds column j of R^-1
                    for (int i = 0; i < cols; i++) rInverse[i * cols + j] = (float) unit.getEntry(i);
                }
                return new Basis(multiply(y, rows, cols, rInverse, cols), cols);
            } catch (NonPositiveDefiniteMatrixException singular) {
                // fall through to the rank-revealing path
            }
        }
        Eigen eig = eigen(gram);
        int c = Math.max(1, eig.count);
        float[] whiten = new float[cols * c];
        for (int j = 0; j < eig.count; j++) {
            double inv = 1 / Math.sqrt(eig.values[j]);
            for (int i = 0; i < cols; i++) whiten[i * c + j] = (float) (eig.vectors[i][j] * inv);
        }
        return new Basis(multiply(y, rows, cols, whiten, c), c);
    }

    /** Eigenpairs of a symmetric matrix, descending, cut at the numerical null space. */
    private record Eigen(double[] values, double[][] vectors, int count) {}

    private static Eigen eigen(double[][] symmetric) {
        int m = symmetric.length;
        EigenDecomposition ed = new EigenDecomposition(new Array2DRowRealMatrix(symmetric, false));
        double[] raw = ed.getRealEigenvalues();
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Double.compare(raw[y], raw[x]));
        double largest = m == 0 ? 0 : raw[order[0]];
        double[] values = new double[m];
        double[][] vectors = new double[m][m];
        int count = 0;
        for (int j = 0; j < m; j++) {
            double lambda = raw[order[j]];
            if (!(lambda > NULL_SHARE * largest) || lambda <= 0) break;
            values[count] = lambda;
            double[] v = ed.getEigenvector(order[j]).toArray();
            for (int i = 0; i < m; i++) vectors[i][count] = v[i];
            count++;
        }
        return new Eigen(values, vectors, count);
    }

    /** X^T X for X [rows x cols] row-major, on the engine GEMM, symmetrised in double. */
    private static double[][] gram(float[] x, int rows, int cols) {
        float[] g;
        try (Tensor t = Tensor.of(Device.CPU, x, rows, cols); Tensor tt = t.transpose(0, 1); Tensor p = tt.matmul(t)) {
            g = p.toFloatArray();
        }
        double[][] out = new double[cols][cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) out[i][j] = 0.5 * ((double) g[i * cols + j] + g[j * cols + i]);
        }
        return out;
    }

    /** X Y for X [rows x inner] and Y [inner x cols], row-major, on the engine GEMM. */
    static float[] multiply(float[] x, int rows, int inner, float[] y, int cols) {
        try (Tensor a = Tensor.of(Device.CPU, x, rows, inner); Tensor b = Tensor.of(Device.CPU, y, inner, cols); Tensor p = a.matmul(b)) {
            return p.toFloatArray();
        }
    }
}
