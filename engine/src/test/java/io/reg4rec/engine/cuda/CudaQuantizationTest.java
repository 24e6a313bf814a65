package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * quantize.cu against the CPU reference. Tolerances: indices exact where the nearest codeword is
 * well separated (and for exact duplicates: lowest j); on random draws the GPU's chosen codeword
 * must be within 1e-4 relative of the true minimum distance; distances 1e-5 relative (fp32 sum of
 * dc squares vs fp64); codeword sums and gate gradients 1e-5 relative + 1e-6 absolute; codebook
 * gradients (atomic fp32 adds, order varies) 1e-4 relative + 1e-5 absolute; match counts exact.
 */
@Tag("gpu")
class CudaQuantizationTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    static float[] gaussian(long seed, int n, double sigma) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (sigma * r.nextGaussian());
        return v;
    }

    record Lookup(int[] idx, float[] dist) {}

    static Lookup lookup(Device device, float[] z, float[] c, int n, int m, int d, int dc) {
        try (Scope s = Scope.open()) {
            Tensor zt = Tensor.of(device, z, n, m, dc), ct = Tensor.of(device, c, m, d, dc);
            Tensor idx = Tensor.empty(device, DType.I32, n, m), dist = Tensor.empty(device, DType.F32, n, m);
            Engine.backend(device).nearestCodeword(zt, ct, idx, dist);
            return new Lookup((int[]) idx.toHost(), dist.toFloatArray());
        }
    }

    /**
     * Items sit close to a random codeword of well-separated codebooks; two codewords are exact
     * duplicates. dc up to 128 runs on the tensor-core kernel (dc 37: unvectorised loads), above
     * on the SIMT kernel; n and d leave partial item and codeword tiles.
     */
    @Test
    void wellSeparatedItemsFindTheirCodewordExactly() {
        int[][] cases = {{1037, 3, 300, 37}, {300, 8, 300, 64}, {129, 2, 65, 128}, {70, 2, 64, 129}, {1, 1, 1, 1}, {5, 2, 7, 200}};
        for (int[] cs : cases) {
            int n = cs[0], m = cs[1], d = cs[2], dc = cs[3];
            float[] c = gaussian(11, m * d * dc, 1.0);
            if (d > 9) System.arraycopy(c, 3 * dc, c, 9 * dc, dc);   // codeword 9 duplicates 3 in codebook 0
            float[] z = gaussian(12, n * m * dc, 0.01);
            SplittableRandom r = new SplittableRandom(13);
            int[] target = new int[n * m];
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < m; b++) {
                    int j = r.nextInt(d);
                    if (d > 9 && b == 0 && i % 5 == 0) j = 9;   // lands on a duplicate: the lowest index, 3, wins
                    target[i * m + b] = (d > 9 && b == 0 && j == 9) ? 3 : j;
                    for (int k = 0; k < dc; k++) z[(i * m + b) * dc + k] += c[(b * d + j) * dc + k];
                }
            }
            Lookup gpu = lookup(GPU, z, c, n, m, d, dc), cpu = lookup(Device.CPU, z, c, n, m, d, dc);
            String what = "n=" + n + " m=" + m + " d=" + d + " dc=" + dc;
            assertArrayEquals(target, cpu.idx, "CPU " + what);
            assertArrayEquals(cpu.idx, gpu.idx, "GPU " + what);
            assertClose("distances " + what, cpu.dist, gpu.dist, 1e-5, 1e-9);
        }
    }

    @Test
    void randomDrawsChooseANearMinimalCodeword() {
        // dc 64 and 100 on tensor cores (100: k padded to 104), 200 on the SIMT kernel.
        for (int dc : new int[]{64, 100, 200}) {
            int n = 2000, m = 8, d = 300;
            float[] z = gaussian(21, n * m * dc, 1.0), c = gaussian(22, m * d * dc, 1.0);
            Lookup gpu = lookup(GPU, z, c, n, m, d, dc), cpu = lookup(Device.CPU, z, c, n, m, d, dc);
            int same = 0;
            for (int t = 0; t < n * m; t++) {
                int b = t % m, j = gpu.idx[t];
                assertTrue(j >= 0 && j < d, "index in range at " + t);
                double direct = 0;
                for (int k = 0; k < dc; k++) {
                    double diff = (double) z[t * dc + k] - c[(b * d + j) * dc + k];
                    direct += diff * diff;
                }
                assertEquals(direct, gpu.dist[t], 1e-5 * direct, "reported distance is the chosen codeword's, at " + t);
                assertTrue(direct <= cpu.dist[t] * (1 + 1e-4), "chosen distance " + direct + " vs minimum " + cpu.dist[t] + " at " + t);
                if (j == cpu.idx[t]) same++;
            }
            assertTrue(same >= n * m * 0.999, "indices agree except on near-ties (dc " + dc + "): " + same + " of " + n * m);
        }
    }

    @Test
    void codewordSumAndBackwardMatchCpu() {
        // dc 130: the scalar kernels (dc > 128 exercises the second column block); dc % 4 == 0:
        // the vectorised ones, with 16 lanes per item (64), 32 lanes and a second quad (132), 4
        // lanes with one idle (12); m not a multiple of the 8 / 4 codebooks loaded at once.
        for (int[] shape : new int[][]{{5, 130}, {5, 64}, {11, 132}, {3, 12}}) {
            int n = 1037, d = 33, m = shape[0], dc = shape[1];
            float[] c = gaussian(31, m * d * dc, 1.0), g = gaussian(32, n * m, 1.0), go = gaussian(33, n * dc, 1.0), gc0 = gaussian(34, m * d * dc, 1.0);
            SplittableRandom r = new SplittableRandom(35);
            int[] idx = new int[n * m];
            for (int i = 0; i < idx.length; i++) idx[i] = r.nextInt(d);
            float[][] out = new float[2][], gg = new float[2][], gc = new float[2][];
            Device[] devices = {Device.CPU, GPU};
            for (int v = 0; v < 2; v++) {
                Device dev = devices[v];
                try (Scope s = Scope.open()) {
                    Tensor ct = Tensor.of(dev, c, m, d, dc), it = Tensor.of(dev, idx, n, m), gt = Tensor.of(dev, g, n, m);
                    Tensor o = Tensor.empty(dev, DType.F32, n, dc);
                    Engine.backend(dev).codewordSum(ct, it, gt, o);
                    out[v] = o.toFloatArray();
                    Tensor gct = Tensor.of(dev, gc0.clone(), m, d, dc), ggt = Tensor.empty(dev, DType.F32, n, m);
                    Engine.backend(dev).codewordSumBackward(ct, it, gt, Tensor.of(dev, go, n, dc), gct, ggt);
                    gg[v] = ggt.toFloatArray();
                    gc[v] = gct.toFloatArray();
                }
            }
            String what = " m=" + m + " dc=" + dc;
            assertClose("codewordSum" + what, out[0], out[1], 1e-5, 1e-6);
            assertClose("gradGates" + what, gg[0], gg[1], 1e-5, 1e-5);
            assertClose("gradCodebooks" + what, gc[0], gc[1], 1e-4, 1e-4);
        }
    }

    @Test
    void outOfRangeIndexIsReportedAtTheNextSynchronisation() {
        // dc 4: the vectorised kernels, dc 5: the scalar ones; the sum, then the backward.
        for (int dc : new int[]{4, 5}) {
            for (boolean backward : new boolean[]{false, true}) {
                try (Scope s = Scope.open()) {
                    Tensor ct = Tensor.ones(GPU, DType.F32, 2, 3, dc), gt = Tensor.ones(GPU, DType.F32, 2, 2);
                    Tensor it = Tensor.of(GPU, new int[]{0, 1, 2, 3}, 2, 2);
                    if (backward) {
                        Tensor gc = Tensor.zeros(GPU, DType.F32, 2, 3, dc), gg = Tensor.empty(GPU, DType.F32, 2, 2);
                        Engine.backend(GPU).codewordSumBackward(ct, it, gt, Tensor.ones(GPU, DType.F32, 2, dc), gc, gg);
                    } else {
                        Engine.backend(GPU).codewordSum(ct, it, gt, Tensor.empty(GPU, DType.F32, 2, dc));
                    }
                    IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> Engine.backend(GPU).synchronize());
                    assertTrue(e.getMessage().contains("index 3 out of range [0, 3)"), "dc " + dc + " backward " + backward + ": " + e.getMessage());
                    Engine.backend(GPU).synchronize();   // reported once, then cleared
                }
            }
        }
    }

    @Test
    void relaxedMatchCountsMatchCpu() {
        for (int m : new int[]{1, 8, 16}) {
            int p = 45, n = 1000, vocabulary = 3;
            SplittableRandom r = new SplittableRandom(m);
            int[] paths = new int[p * m], items = new int[n * m];
            for (int i = 0; i < paths.length; i++) paths[i] = r.nextInt(vocabulary);
            for (int i = 0; i < items.length; i++) items[i] = r.nextInt(vocabulary);
            int[][] got = new int[2][];
            Device[] devices = {Device.CPU, GPU};
            for (int v = 0; v < 2; v++) {
                try (Scope s = Scope.open()) {
                    Tensor counts = Tensor.empty(devices[v], DType.I32, p, n);
                    Engine.backend(devices[v]).relaxedMatchCount(Tensor.of(devices[v], paths, p, m), Tensor.of(devices[v], items, n, m), counts);
                    got[v] = (int[]) counts.toHost();
                }
            }
            assertArrayEquals(got[0], got[1], "M = " + m);
        }
    }

    @Test
    void tensorOnAnotherDeviceIsRejectedWithTheOpName() {
        try (Scope s = Scope.open()) {
            Tensor z = Tensor.zeros(Device.CPU, DType.F32, 2, 1, 4), cb = Tensor.zeros(GPU, DType.F32, 1, 3, 4);
            Tensor idx = Tensor.empty(GPU, DType.I32, 2, 1), dist = Tensor.empty(GPU, DType.F32, 2, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engine.backend(GPU).nearestCodeword(z, cb, idx, dist));
            assertTrue(e.getMessage().startsWith("nearestCodeword: z [2, 1, 4] F32 is on cpu"), e.getMessage());
        }
    }
}
