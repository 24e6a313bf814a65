package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * GEMM results are checked bit for bit against the backend's documented summation order (see
 * {@link #dot}), whatever the row/column blocking, kernel, path or thread count.
 */
class CpuGemmTest {
    /**
     * The fp32 GEMM's order: k in steps of {@link Gemm#KC}; within a step an FMA chain from zero,
     * each step's partial sum added to the running value with one fp32 add.
     */
    static float dot(float[] a, int aOff, int aStep, float[] b, int bOff, int bStep, int k) {
        float acc = 0;
        for (int p0 = 0; p0 < k; p0 += Gemm.KC) {
            float partial = 0;
            for (int p = p0; p < Math.min(k, p0 + Gemm.KC); p++) partial = Math.fma(a[aOff + p * aStep], b[bOff + p * bStep], partial);
            acc = p0 == 0 ? partial : acc + partial;
        }
        return acc;
    }

    /** Reference for batch-broadcast rank-3 operands given as row-major host values. */
    static double[] reference(DType dt, double[] a, int ba, double[] b, int bb, int batch, int m, int k, int n) {
        double[] c = new double[batch * m * n];
        for (int t = 0; t < batch; t++) {
            int ao = ba == 1 ? 0 : t * m * k, bo = bb == 1 ? 0 : t * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    if (dt == DType.F64) {
                        double acc = 0;
                        for (int p = 0; p < k; p++) acc += a[ao + i * k + p] * b[bo + p * n + j];
                        c[t * m * n + i * n + j] = acc;
                    } else {
                        float[] row = new float[k], col = new float[k];
                        for (int p = 0; p < k; p++) { row[p] = (float) a[ao + i * k + p]; col[p] = (float) b[bo + p * n + j]; }
                        c[t * m * n + i * n + j] = rounded(dt, dot(row, 0, 1, col, 0, 1, k));
                    }
                }
            }
        }
        return c;
    }

    /** A [rows, cols] operand, optionally produced as the transpose of a [cols, rows] tensor. */
    static Tensor operand(DType dt, long seed, boolean transposed, int rows, int cols) {
        if (!transposed) return random(dt, seed, -1, 1, rows, cols);
        try (Tensor t = random(dt, seed, -1, 1, cols, rows)) {
            return t.transpose(0, 1);
        }
    }

    @Test
    void allTransposeCombosAndOddSizes() {
        int[][] sizes = {{1, 1, 1}, {1, 7, 1}, {7, 33, 129}, {129, 7, 33}, {33, 129, 7}, {150, 300, 530}, {17, 1, 200}, {3, 300, 700}, {1, 600, 5000}};
        for (DType dt : new DType[]{DType.F32, DType.BF16, DType.F64}) {
            for (int[] s : sizes) {
                int m = s[0], k = s[1], n = s[2];
                if (dt != DType.F32 && m * k * n > 1_000_000) continue;
                for (int combo = 0; combo < 4; combo++) {
                    boolean ta = (combo & 1) != 0, tb = (combo & 2) != 0;
                    try (Tensor a = operand(dt, 1 + combo, ta, m, k); Tensor b = operand(dt, 5 + combo, tb, k, n); Tensor c = a.matmul(b)) {
                        assertArrayEquals(new int[]{m, n}, c.shape());
                        assertEquals(dt, c.dtype());
                        double[] expected = reference(dt, values(a), 1, values(b), 1, 1, m, k, n);
                        double[] actual = values(c);
                        for (int i = 0; i < expected.length; i++) {
                            assertSame(expected[i], actual[i], dt + " " + m + "x" + k + "x" + n + " ta=" + ta + " tb=" + tb + " at " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void batchedBroadcastAndSlicedOperands() {
        int batch = 3, m = 37, k = 70, n = 45;
        try (Tensor a = random(DType.F32, 1, -1, 1, batch, m, k); Tensor b = random(DType.F32, 2, -1, 1, batch, k, n); Tensor c = a.matmul(b)) {
            assertArrayEquals(new int[]{batch, m, n}, c.shape());
            assertArrayEquals(reference(DType.F32, values(a), batch, values(b), batch, batch, m, k, n), values(c));
        }
        // Enough products for whole products per thread (the batch-parallel path), with a transposed B.
        try (Tensor a = random(DType.F32, 11, -1, 1, 4, 40, 300); Tensor bt = random(DType.F32, 12, -1, 1, 4, 70, 300);
             Tensor b = bt.transpose(1, 2); Tensor c = a.matmul(b)) {
            assertArrayEquals(reference(DType.F32, values(a), 4, values(b), 4, 4, 40, 300, 70), values(c));
        }
        // Broadcast batch: [1, m, k] x [batch, k, n] and [m, k] x [batch, k, n] (batch stride 0).
        try (Tensor a1 = random(DType.F32, 3, -1, 1, 1, m, k); Tensor a2 = random(DType.F32, 3, -1, 1, m, k);
             Tensor b = random(DType.F32, 4, -1, 1, batch, k, n); Tensor c1 = a1.matmul(b); Tensor c2 = a2.matmul(b); Tensor c3 = b.transpose(1, 2).matmul(a2.transpose(0, 1))) {
            double[] expected = reference(DType.F32, values(a1), 1, values(b), batch, batch, m, k, n);
            assertArrayEquals(expected, values(c1));
            assertArrayEquals(expected, values(c2));
            assertArrayEquals(new int[]{batch, n, m}, c3.shape());
        }
        // Sliced operands: leading dimension larger than the row.
        try (Tensor big = random(DType.F32, 6, -1, 1, 40, 90); Tensor a = big.slice(1, 10, 80).slice(0, 3, 40);
             Tensor wide = random(DType.F32, 7, -1, 1, 70, 64); Tensor b = wide.slice(1, 5, 50); Tensor c = a.matmul(b)) {
            assertArrayEquals(reference(DType.F32, values(a), 1, values(b), 1, 1, 37, 70, 45), values(c));
        }
        // A permuted layout without a unit stride gets copied by the frontend and still works.
        try (Tensor x = random(DType.F32, 8, -1, 1, 5, 4, 6); Tensor a = x.permute(1, 2, 0).select(2, 3); Tensor b = random(DType.F32, 9, -1, 1, 6, 3); Tensor c = a.matmul(b)) {
            assertArrayEquals(reference(DType.F32, values(a), 1, values(b), 1, 1, 4, 6, 3), values(c));
        }
        // Empty k gives zeros; empty m gives an empty result.
        try (Tensor a = Tensor.zeros(CPU, DType.F32, 3, 0); Tensor b = Tensor.zeros(CPU, DType.F32, 0, 4); Tensor c = a.matmul(b);
             Tensor e = Tensor.zeros(CPU, DType.F32, 0, 5); Tensor f = random(DType.F32, 1, 0, 1, 5, 2); Tensor g = e.matmul(f)) {
            assertArrayEquals(new float[12], (float[]) c.toHost());
            assertArrayEquals(new int[]{0, 2}, g.shape());
        }
    }

    @Test
    void largeMultiThreadedGemmIsDeterministicAndExact() {
        int m = 300, k = 520, n = 1100; // several tiles in every dimension, partial edges
        try (Tensor a = Tensor.randn(CPU, DType.F32, 1, m, k); Tensor b = Tensor.randn(CPU, DType.F32, 2, k, n);
             Tensor c1 = a.matmul(b); Tensor c2 = a.matmul(b)) {
            float[] r1 = (float[]) c1.toHost();
            assertArrayEquals(r1, (float[]) c2.toHost());
            float[] av = (float[]) a.toHost(), bv = (float[]) b.toHost();
            SplittableRandom rnd = new SplittableRandom(5);
            for (int s = 0; s < 2000; s++) {
                int i = rnd.nextInt(m), j = rnd.nextInt(n);
                assertEquals(dot(av, i * k, 1, bv, j, n, k), r1[i * n + j], "C[" + i + "," + j + "]");
            }
        }
    }

    @Test
    void vectorAndScalarKernelsAgreeBitForBit() {
        GemmKernel scalar = new ScalarGemmKernel();
        GemmKernel used = Gemm.KERNEL;
        SplittableRandom rnd = new SplittableRandom(11);
        int kc = 77;
        for (GemmKernel kernel : new GemmKernel[]{scalar, used}) {
            int mr = kernel.mr(), nr = kernel.nr();
            float[] a = new float[kc * mr], b = new float[kc * nr], c = new float[mr * nr + 5];
            for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < c.length; i++) c[i] = (float) rnd.nextGaussian();
            float[] start = c.clone();
            kernel.compute(kc, a, 0, b, 0, c, 0, nr, true);
            for (int r = 0; r < mr; r++) {
                for (int j = 0; j < nr; j++) {
                    float partial = 0;
                    for (int p = 0; p < kc; p++) partial = Math.fma(a[p * mr + r], b[p * nr + j], partial);
                    assertEquals(start[r * nr + j] + partial, c[r * nr + j], kernel.getClass().getSimpleName() + " (" + r + "," + j + ")");
                }
            }
        }
        assertTrue(Gemm.vectorApiPresent(), "tests run with --add-modules jdk.incubator.vector");
        assertEquals("VectorGemmKernel", Gemm.KERNEL.getClass().getSimpleName());
    }

    @Test
    void fallsBackToTheScalarKernelWithoutTheVectorModule() throws Exception {
        String launcher = System.getProperty("java.home") + "/bin/java";
        Process p = new ProcessBuilder(launcher, "-cp", System.getProperty("java.class.path"), ScalarFallbackMain.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("ScalarGemmKernel"), output);
    }

    @Test
    void bf16InputsWithF32OutputThroughTheBackend() {
        try (Tensor a = random(DType.BF16, 1, -1, 1, 2, 9, 13); Tensor b = random(DType.BF16, 2, -1, 1, 2, 13, 5);
             Tensor out = Tensor.empty(CPU, DType.F32, 2, 9, 5)) {
            CpuBackend.instance().matmul(a, false, b, false, out);
            assertArrayEquals(reference(DType.F32, values(a), 2, values(b), 2, 2, 9, 13, 5), values(out));
        }
    }

    @Test
    void errorsNameOpShapesAndDtypes() {
        try (Tensor a = random(DType.F32, 1, 0, 1, 2, 3); Tensor b = random(DType.F32, 1, 0, 1, 4, 5);
             Tensor h = random(DType.BF16, 1, 0, 1, 3, 5); Tensor i = Tensor.zeros(CPU, DType.I32, 3, 5);
             Tensor b3 = random(DType.F32, 1, 0, 1, 2, 3, 5); Tensor a3 = random(DType.F32, 1, 0, 1, 3, 2, 3)) {
            String m = assertThrows(IllegalArgumentException.class, () -> a.matmul(b)).getMessage();
            assertTrue(m.contains("matmul") && m.contains("[2, 3]") && m.contains("[4, 5]"), m);
            m = assertThrows(IllegalArgumentException.class, () -> a.matmul(h)).getMessage();
            assertTrue(m.contains("matmul") && m.contains("BF16") && m.contains("F32"), m);
            try (Tensor ai = Tensor.zeros(CPU, DType.I32, 2, 3)) {
                m = assertThrows(IllegalArgumentException.class, () -> ai.matmul(i)).getMessage();
                assertTrue(m.contains("matmul") && m.contains("I32"), m);
            }
            m = assertThrows(IllegalArgumentException.class, () -> a3.matmul(b3)).getMessage();
            assertTrue(m.contains("batch") && m.contains("[3, 2, 3]") && m.contains("[2, 3, 5]"), m);
        }
    }
}
