package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Row JS / KL divergences and the JS backward on the CPU: closed forms, loops, finite differences. */
class CpuDivergenceTest {
    static final Backend CPU = CpuBackend.instance();

    static double[] distributions(long seed, int rows, int cols, double zeroFraction) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                double x = r.nextDouble() < zeroFraction ? 0 : r.nextDouble() + 1e-3;
                v[i * cols + j] = x;
                sum += x;
            }
            for (int j = 0; j < cols && sum > 0; j++) v[i * cols + j] /= sum;
        }
        return v;
    }

    static double[] run(boolean kl, double[] p, double[] q, int rows, int cols) {
        try (Scope s = Scope.open()) {
            Tensor pt = Tensor.fromHost(Device.CPU, DType.F64, p, rows, cols), qt = Tensor.fromHost(Device.CPU, DType.F64, q, rows, cols);
            Tensor out = Tensor.empty(Device.CPU, DType.F64, rows);
            if (kl) CPU.klDivergence(pt, qt, out);
            else CPU.jsDivergence(pt, qt, out);
            return (double[]) out.toHost();
        }
    }

    @Test
    void closedFormsAndZeros() {
        double ln2 = Math.log(2);
        double[] js = run(false, new double[]{1, 0, 0.5, 0.5, 0.25, 0.75}, new double[]{0, 1, 0.5, 0.5, 0, 1}, 3, 2);
        assertEquals(ln2, js[0], 1e-15);       // disjoint supports: the maximum, log 2
        assertEquals(0.0, js[1]);               // identical rows
        // p = (1/4, 3/4), q = (0, 1): 0.5 * 1/4 log 2 + 0.5 * 3/4 log(1.5 / 1.75) + 0.5 * log(2 / 1.75)
        double e = 0.5 * 0.25 * ln2 + 0.5 * 0.75 * Math.log(1.5 / 1.75) + 0.5 * Math.log(2 / 1.75);
        assertEquals(e, js[2], 1e-15);
        double[] kl = run(true, new double[]{0.5, 0.5, 0, 1}, new double[]{0.25, 0.75, 0.5, 0.5}, 2, 2);
        assertEquals(0.5 * Math.log(2) + 0.5 * Math.log(0.5 / 0.75), kl[0], 1e-15);
        assertEquals(Math.log(2), kl[1], 1e-15);   // 0 log(0 / q) = 0
        assertEquals(Double.POSITIVE_INFINITY, run(true, new double[]{0.5, 0.5}, new double[]{1, 0}, 1, 2)[0]);
    }

    @Test
    void randomRowsMatchLoopsInF32AndF64() {
        int rows = 301, cols = 67;    // enough rows to split over threads
        double[] p = distributions(1, rows, cols, 0.2), q = distributions(2, rows, cols, 0.2);
        double[] js = run(false, p, q, rows, cols), kl = run(true, p, q, rows, cols);
        float[] js32;
        try (Scope s = Scope.open()) {
            Tensor pt = Tensor.fromHost(Device.CPU, DType.F64, p, rows, cols).to(DType.F32);
            Tensor qt = Tensor.fromHost(Device.CPU, DType.F64, q, rows, cols).to(DType.F32);
            Tensor out = Tensor.empty(Device.CPU, DType.F32, rows);
            CPU.jsDivergence(pt, qt, out);
            js32 = out.toFloatArray();
        }
        for (int r = 0; r < rows; r++) {
            double e = 0, k = 0;
            for (int c = 0; c < cols; c++) {
                double a = p[r * cols + c], b = q[r * cols + c], m = (a + b) / 2;
                if (a > 0) e += 0.5 * a * Math.log(a / m);
                if (b > 0) e += 0.5 * b * Math.log(b / m);
                if (a > 0) k += b > 0 ? a * Math.log(a / b) : Double.POSITIVE_INFINITY;
            }
            assertEquals(e, js[r], 1e-14);
            assertEquals(k, kl[r], Double.isInfinite(k) ? 0 : 1e-13);
            assertEquals(e, js32[r], 1e-6 * e + 1e-7);  // fp32 inputs are the rounded probabilities
        }
    }

    @Test
    void backwardMatchesCentralDifferencesAndStaysFiniteAtZeros() {
        int rows = 5, cols = 9;
        double[] p = distributions(3, rows, cols, 0.25), q = distributions(4, rows, cols, 0.25);
        double[] g = {1.0, -0.5, 2.0, 0.25, 3.0};
        double[] gp, gq;
        try (Scope s = Scope.open()) {
            Tensor gradP = Tensor.empty(Device.CPU, DType.F64, rows, cols), gradQ = Tensor.empty(Device.CPU, DType.F64, rows, cols);
            CPU.jsDivergenceBackward(Tensor.fromHost(Device.CPU, DType.F64, p, rows, cols), Tensor.fromHost(Device.CPU, DType.F64, q, rows, cols),
                    Tensor.fromHost(Device.CPU, DType.F64, g, rows), gradP, gradQ);
            gp = (double[]) gradP.toHost();
            gq = (double[]) gradQ.toHost();
        }
        double h = 1e-7;
        int zeros = 0;
        for (int i = 0; i < rows * cols; i++) {
            int r = i / cols;
            assertTrue(Double.isFinite(gp[i]) && Double.isFinite(gq[i]), "finite gradient at " + i);
            if (p[i] == 0) { zeros++; assertEquals(0.0, gp[i], 0.0); }
            else assertEquals(g[r] * numeric(p, q, i, h, true, rows, cols)[r], gp[i], 1e-6);
            if (q[i] == 0) { zeros++; assertEquals(0.0, gq[i], 0.0); }
            else assertEquals(g[r] * numeric(p, q, i, h, false, rows, cols)[r], gq[i], 1e-6);
        }
        assertTrue(zeros > 0, "the draw must contain zero entries");
    }

    private static double[] numeric(double[] p, double[] q, int i, double h, boolean wrtP, int rows, int cols) {
        double[] a = (wrtP ? p : q).clone(), b = a.clone();
        a[i] += h;
        b[i] -= h;
        double[] plus = wrtP ? run(false, a, q, rows, cols) : run(false, p, a, rows, cols);
        double[] minus = wrtP ? run(false, b, q, rows, cols) : run(false, p, b, rows, cols);
        double[] d = new double[rows];
        for (int r = 0; r < rows; r++) d[r] = (plus[r] - minus[r]) / (2 * h);
        return d;
    }
}
