package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The CPU MPQ primitives against brute-force loops written out here. */
class CpuQuantizationTest {
    static final Backend CPU = CpuBackend.instance();

    static double[] gaussian(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian();
        return v;
    }

    static Tensor f64(double[] v, int... shape) { return Tensor.fromHost(Device.CPU, DType.F64, v, shape); }

    @Test
    void nearestCodewordMatchesBruteForceWithLowestIndexOnTies() {
        int n = 41, m = 3, d = 13, dc = 7;
        double[] z = gaussian(1, n * m * dc), c = gaussian(2, m * d * dc);
        // codeword 9 of codebook 1 duplicates codeword 4: a tie that must resolve to 4
        System.arraycopy(c, (1 * d + 4) * dc, c, (1 * d + 9) * dc, dc);
        // item 5, codebook 1 sits exactly on that codeword
        System.arraycopy(c, (1 * d + 4) * dc, z, (5 * m + 1) * dc, dc);
        try (Scope s = Scope.open()) {
            Tensor zt = f64(z, n, m, dc), ct = f64(c, m, d, dc);
            Tensor idx = Tensor.empty(Device.CPU, DType.I32, n, m), dist = Tensor.empty(Device.CPU, DType.F64, n, m);
            CPU.nearestCodeword(zt, ct, idx, dist);
            int[] gotIdx = (int[]) idx.toHost();
            double[] gotDist = (double[]) dist.toHost();
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < m; b++) {
                    int best = -1;
                    double bestD = Double.MAX_VALUE;
                    for (int j = 0; j < d; j++) {
                        double sum = 0;
                        for (int k = 0; k < dc; k++) {
                            double diff = z[(i * m + b) * dc + k] - c[(b * d + j) * dc + k];
                            sum += diff * diff;
                        }
                        if (sum < bestD) { bestD = sum; best = j; }
                    }
                    assertEquals(best, gotIdx[i * m + b], "index of item " + i + " codebook " + b);
                    assertEquals(bestD, gotDist[i * m + b], 1e-12 * Math.max(1, bestD));
                }
            }
            assertEquals(4, gotIdx[5 * m + 1]);
            assertEquals(0.0, gotDist[5 * m + 1]);
            // F32 inputs pick the same codewords here (no near-ties in these draws)
            Tensor z32 = zt.to(DType.F32), c32 = ct.to(DType.F32);
            Tensor idx32 = Tensor.empty(Device.CPU, DType.I32, n, m), dist32 = Tensor.empty(Device.CPU, DType.F32, n, m);
            CPU.nearestCodeword(z32, c32, idx32, dist32);
            assertArrayEquals(gotIdx, (int[]) idx32.toHost());
        }
    }

    @Test
    void codewordSumAndBackwardMatchLoops() {
        int n = 29, m = 4, d = 6, dc = 21;
        double[] c = gaussian(3, m * d * dc), g = gaussian(4, n * m), go = gaussian(5, n * dc), gcInit = gaussian(6, m * d * dc);
        int[] idx = new int[n * m];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < idx.length; i++) idx[i] = r.nextInt(d);
        try (Scope s = Scope.open()) {
            Tensor ct = f64(c, m, d, dc), it = Tensor.of(Device.CPU, idx, n, m), gt = f64(g, n, m);
            Tensor out = Tensor.empty(Device.CPU, DType.F64, n, dc);
            CPU.codewordSum(ct, it, gt, out);
            double[] o = (double[]) out.toHost();
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < dc; k++) {
                    double e = 0;
                    for (int b = 0; b < m; b++) e += g[i * m + b] * c[(b * d + idx[i * m + b]) * dc + k];
                    assertEquals(e, o[i * dc + k], 1e-12);
                }
            }
            Tensor gc = f64(gcInit.clone(), m, d, dc), gg = Tensor.empty(Device.CPU, DType.F64, n, m);
            CPU.codewordSumBackward(ct, it, gt, f64(go, n, dc), gc, gg);
            double[] expectedGc = gcInit.clone();
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < m; b++) {
                    int j = idx[i * m + b];
                    double dot = 0;
                    for (int k = 0; k < dc; k++) {
                        dot += go[i * dc + k] * c[(b * d + j) * dc + k];
                        expectedGc[(b * d + j) * dc + k] += g[i * m + b] * go[i * dc + k];
                    }
                    assertEquals(dot, ((double[]) gg.toHost())[i * m + b], 1e-12);
                }
            }
            assertArrayEquals(expectedGc, (double[]) gc.toHost(), 1e-12);
        }
    }

    @Test
    void outOfRangeCodewordIndexThrowsBeforeWriting() {
        try (Scope s = Scope.open()) {
            Tensor ct = Tensor.ones(Device.CPU, DType.F32, 2, 3, 4);
            Tensor it = Tensor.of(Device.CPU, new int[]{0, 1, 2, 3}, 2, 2);
            Tensor gt = Tensor.ones(Device.CPU, DType.F32, 2, 2);
            Tensor out = Tensor.zeros(Device.CPU, DType.F32, 2, 4);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> CPU.codewordSum(ct, it, gt, out));
            assertTrue(e.getMessage().contains("codewordSum") && e.getMessage().contains("[1, 1] = 3"), e.getMessage());
            assertArrayEquals(new float[8], out.toFloatArray());
        }
    }

    @Test
    void relaxedMatchCountCountsEqualPositions() {
        int p = 37, n = 1003, m = 8, d = 3;   // few token values: many partial matches
        SplittableRandom r = new SplittableRandom(8);
        int[] paths = new int[p * m], items = new int[n * m];
        for (int i = 0; i < paths.length; i++) paths[i] = r.nextInt(d);
        for (int i = 0; i < items.length; i++) items[i] = r.nextInt(d);
        try (Scope s = Scope.open()) {
            Tensor counts = Tensor.empty(Device.CPU, DType.I32, p, n);
            CPU.relaxedMatchCount(Tensor.of(Device.CPU, paths, p, m), Tensor.of(Device.CPU, items, n, m), counts);
            int[] got = (int[]) counts.toHost();
            for (int a = 0; a < p; a++) {
                for (int b = 0; b < n; b++) {
                    int e = 0;
                    for (int k = 0; k < m; k++) if (paths[a * m + k] == items[b * m + k]) e++;
                    assertEquals(e, got[a * n + b]);
                }
            }
        }
    }

    @Test
    void argumentErrorsNameOpAndShape() {
        try (Scope s = Scope.open()) {
            Tensor z = Tensor.zeros(Device.CPU, DType.F32, 5, 2, 4);
            Tensor cb = Tensor.zeros(Device.CPU, DType.F32, 2, 3, 5);
            Tensor idx = Tensor.empty(Device.CPU, DType.I32, 5, 2), dist = Tensor.empty(Device.CPU, DType.F32, 5, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CPU.nearestCodeword(z, cb, idx, dist));
            assertTrue(e.getMessage().startsWith("nearestCodeword: codebooks [2, 3, 5]"), e.getMessage());
            Tensor wide = Tensor.zeros(Device.CPU, DType.I32, 2, 17);
            e = assertThrows(IllegalArgumentException.class, () -> CPU.relaxedMatchCount(wide, wide, Tensor.empty(Device.CPU, DType.I32, 2, 2)));
            assertTrue(e.getMessage().contains("17 codebooks exceed the limit of 16"), e.getMessage());
            Tensor idx64 = Tensor.empty(Device.CPU, DType.I64, 5, 2);
            e = assertThrows(IllegalArgumentException.class, () -> CPU.nearestCodeword(z, Tensor.zeros(Device.CPU, DType.F32, 2, 3, 4), idx64, dist));
            assertTrue(e.getMessage().contains("indices must be I32"), e.getMessage());
        }
    }
}
