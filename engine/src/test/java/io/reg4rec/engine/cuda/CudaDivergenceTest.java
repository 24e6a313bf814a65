package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * divergence.cu against the CPU reference (fp64 inside, same fp32 inputs). Tolerances: JS 1e-5
 * relative + 1e-7 absolute (fp32 sums of non-negative terms); KL 1e-5 relative + 1e-6 absolute
 * (plain p log(p/q) terms cancel); +inf positions equal; JS of nearly equal rows 1e-4 relative
 * (the series form keeps relative accuracy); gradients 1e-5 relative + 1e-6 absolute.
 */
@Tag("gpu")
class CudaDivergenceTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    static float[] distributions(long seed, int rows, int cols, double zeroFraction) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                double x = r.nextDouble() < zeroFraction ? 0 : r.nextDouble();
                v[i * cols + j] = (float) x;
                sum += x;
            }
            for (int j = 0; j < cols && sum > 0; j++) v[i * cols + j] = (float) (v[i * cols + j] / sum);
        }
        return v;
    }

    /** [js, kl, gradP, gradQ] on a device; offset > 0 places the tables at that element offset (unaligned loads). */
    static float[][] run(Device dev, float[] p, float[] q, float[] g, int rows, int cols, int offset) {
        try (Scope s = Scope.open()) {
            Tensor pt = placed(dev, p, rows, cols, offset), qt = placed(dev, q, rows, cols, offset);
            Tensor js = Tensor.empty(dev, DType.F32, rows), kl = Tensor.empty(dev, DType.F32, rows);
            Tensor gp = Tensor.empty(dev, DType.F32, rows, cols), gq = Tensor.empty(dev, DType.F32, rows, cols);
            Backend b = Engine.backend(dev);
            b.jsDivergence(pt, qt, js);
            b.klDivergence(pt, qt, kl);
            b.jsDivergenceBackward(pt, qt, Tensor.of(dev, g, rows), gp, gq);
            return new float[][]{js.toFloatArray(), kl.toFloatArray(), gp.toFloatArray(), gq.toFloatArray()};
        }
    }

    static Tensor placed(Device dev, float[] v, int rows, int cols, int offset) {
        float[] padded = new float[v.length + offset];
        System.arraycopy(v, 0, padded, offset, v.length);
        try (Tensor flat = Tensor.of(dev, padded, padded.length); Tensor tail = flat.slice(0, offset, padded.length)) {
            return tail.reshape(rows, cols);
        }
    }

    @Test
    void rowsOfEveryLengthMatchCpu() {
        int[][] shapes = {{1000, 1}, {777, 3}, {1001, 8}, {401, 12}, {513, 33}, {300, 64}, {65, 100}, {129, 132}, {97, 1000}, {40, 1001}, {3, 20000}, {200, 8192}};
        for (int[] sh : shapes) {
            for (int offset : new int[]{0, 1}) {
                int rows = sh[0], cols = sh[1];
                float[] p = distributions(rows, rows, cols, 0.15), q = distributions(cols, rows, cols, 0.15);
                float[] g = new float[rows];
                SplittableRandom r = new SplittableRandom(5);
                for (int i = 0; i < rows; i++) g[i] = (float) (r.nextDouble() * 2 - 1);
                float[][] cpu = run(Device.CPU, p, q, g, rows, cols, offset), gpu = run(GPU, p, q, g, rows, cols, offset);
                String what = rows + "x" + cols + " offset " + offset;
                assertClose("js " + what, cpu[0], gpu[0], 1e-5, 1e-7);
                assertClose("kl " + what, cpu[1], gpu[1], 1e-5, 1e-6);
                for (int i = 0; i < rows; i++) assertEquals(Float.isInfinite(cpu[1][i]), Float.isInfinite(gpu[1][i]), "kl infinity, row " + i + " " + what);
                assertClose("gradP " + what, cpu[2], gpu[2], 1e-5, 1e-6);
                assertClose("gradQ " + what, cpu[3], gpu[3], 1e-5, 1e-6);
                for (float v : gpu[2]) assertTrue(Float.isFinite(v), "finite gradient " + what);
            }
        }
    }

    @Test
    void nearlyEqualRowsKeepRelativeAccuracy() {
        int rows = 64, cols = 50;
        float[] p = distributions(1, rows, cols, 0), q = p.clone();
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < q.length; i++) q[i] = (float) (q[i] * (1 + 1e-3 * (r.nextDouble() - 0.5)));
        float[] g = new float[rows];
        float[][] cpu = run(Device.CPU, p, q, g, rows, cols, 0), gpu = run(GPU, p, q, g, rows, cols, 0);
        for (int i = 0; i < rows; i++) assertTrue(cpu[0][i] > 0 && cpu[0][i] < 1e-6, "tiny divergence " + cpu[0][i]);
        assertClose("js of nearly equal rows", cpu[0], gpu[0], 1e-4, 0);
    }
}
