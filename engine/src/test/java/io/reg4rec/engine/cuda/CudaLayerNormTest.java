package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused layer-norm kernels against the CPU reference (CpuLayerNorm), forward and backward, on
 * odd shapes that cover both launch layouts (a warp per row up to 1024 columns, a block per row
 * beyond) and the chunked parameter-gradient sums.
 *
 * <p>Tolerances: the CPU computes in double, the GPU in fp32 with tree sums. F32: outputs and
 * statistics within 2e-5 relative + 2e-5 absolute; gradients within 1e-4 of the largest
 * magnitude of that gradient (gamma / beta gradients sum thousands of rows in fp32). BF16: the
 * two may round to neighbouring bf16 values, so 1/64 relative plus 1/128 of the largest magnitude.
 */
@Tag("gpu")
class CudaLayerNormTest {
    private static final int[][] SHAPES = {{1, 1}, {7, 33}, {513, 1000}, {33, 1025}, {5, 4097}, {3, 8191}, {1001, 127}};

    private static void assertNear(String what, float[] expected, float[] actual, DType dtype) {
        double scale = 0;
        for (float e : expected) scale = Math.max(scale, Math.abs(e));
        double rel = dtype == DType.BF16 ? 1.0 / 64 : 2e-5, abs = dtype == DType.BF16 ? scale / 128 : 2e-5;
        GpuTesting.assertClose(what, expected, actual, rel, abs);
    }

    private static void assertGradNear(String what, float[] expected, float[] actual, DType dtype) {
        assertGradNear(what, expected, actual, dtype, 0);
    }

    /** termScale: the size of the terms the gradient is a difference of, when that exceeds the gradient itself. */
    private static void assertGradNear(String what, float[] expected, float[] actual, DType dtype, double termScale) {
        double scale = termScale;
        for (float e : expected) scale = Math.max(scale, Math.abs(e));
        double rel = dtype == DType.BF16 ? 1.0 / 64 : 1e-4, abs = (dtype == DType.BF16 ? 1.0 / 128 : 1e-4) * scale;
        GpuTesting.assertClose(what, expected, actual, rel, abs);
    }

    private static double max(float[] v) {
        double m = 0;
        for (float e : v) m = Math.max(m, Math.abs(e));
        return m;
    }

    @Test
    void forwardAndBackwardMatchTheCpu() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int[] shape : SHAPES) {
                for (boolean affine : new boolean[]{true, false}) {
                    try (Scope scope = Scope.open()) {
                        int rows = shape[0], cols = shape[1];
                        String what = dtype + " " + rows + "x" + cols + (affine ? " affine" : " plain") + ": ";
                        Tensor x = cpuRandom(dtype, rows * 31L + cols, -3, 5, rows, cols);
                        Tensor gamma = affine ? cpuRandom(dtype, cols + 7, 0.5, 1.5, cols) : null;
                        Tensor beta = affine ? cpuRandom(dtype, cols + 8, -1, 1, cols) : null;
                        Tensor dy = cpuRandom(dtype, cols + 9, -1, 1, rows, cols);
                        FusedOps.LayerNormResult c = FusedOps.layerNorm(x, gamma, beta, 1e-5);
                        FusedOps.LayerNormGrads cg = FusedOps.layerNormBackward(x, gamma, c.mean(), c.rstd(), dy, affine, affine);

                        Tensor gx = x.to(GPU), gGamma = affine ? gamma.to(GPU) : null, gBeta = affine ? beta.to(GPU) : null;
                        FusedOps.LayerNormResult g = FusedOps.layerNorm(gx, gGamma, gBeta, 1e-5);
                        FusedOps.LayerNormGrads gg = FusedOps.layerNormBackward(gx, gGamma, g.mean(), g.rstd(), dy.to(GPU), affine, affine);

                        assertNear(what + "mean", c.mean().toFloatArray(), g.mean().toFloatArray(), DType.F32);
                        assertNear(what + "rstd", c.rstd().toFloatArray(), g.rstd().toFloatArray(), DType.F32);
                        assertNear(what + "out", c.out().toFloatArray(), g.out().toFloatArray(), dtype);
                        // gradX = rstd (dy gamma - row means ...): with one column the terms cancel to 0 exactly
                        // in double but leave fp32 rounding of rstd |dy gamma| on the GPU.
                        double terms = max(c.rstd().toFloatArray()) * max(dy.toFloatArray()) * (affine ? max(gamma.toFloatArray()) : 1);
                        assertGradNear(what + "gradX", cg.gradX().toFloatArray(), gg.gradX().toFloatArray(), dtype, terms);
                        if (affine) {
                            assertGradNear(what + "gradGamma", cg.gradGamma().toFloatArray(), gg.gradGamma().toFloatArray(), dtype);
                            assertGradNear(what + "gradBeta", cg.gradBeta().toFloatArray(), gg.gradBeta().toFloatArray(), dtype);
                        }
                    }
                }
            }
        }
    }

    @Test
    void parameterGradientsAreBitReproducibleAndBetaAloneWorks() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            int rows = 4099, cols = 129;
            Tensor x = cpuRandom(DType.F32, 1, -2, 2, rows, cols).to(GPU);
            Tensor gamma = cpuRandom(DType.F32, 2, 0.5, 1.5, cols).to(GPU);
            Tensor dy = cpuRandom(DType.F32, 3, -1, 1, rows, cols).to(GPU);
            FusedOps.LayerNormResult r = FusedOps.layerNorm(x, gamma, null, 1e-5);
            FusedOps.LayerNormGrads a = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), dy, true, true);
            FusedOps.LayerNormGrads b = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), dy, true, true);
            assertArrayEquals(a.gradGamma().toFloatArray(), b.gradGamma().toFloatArray());
            assertArrayEquals(a.gradBeta().toFloatArray(), b.gradBeta().toFloatArray());
            assertArrayEquals(a.gradX().toFloatArray(), b.gradX().toFloatArray());
            FusedOps.LayerNormGrads betaOnly = FusedOps.layerNormBackward(x, null, r.mean(), r.rstd(), dy, false, true);
            float[] sums = new float[cols];
            float[] d = dy.toFloatArray();
            double[] expected = new double[cols];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) expected[j] += d[i * cols + j];
            for (int j = 0; j < cols; j++) sums[j] = (float) expected[j];
            GpuTesting.assertClose("gradBeta without gamma", sums, betaOnly.gradBeta().toFloatArray(), 1e-4, 1e-3);
        }
    }

    @Test
    void higherRankInputsAndEmptyBatches() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor x = cpuRandom(DType.F32, 4, -1, 1, 3, 5, 17);
            FusedOps.LayerNormResult c = FusedOps.layerNorm(x, null, null, 1e-3);
            FusedOps.LayerNormResult g = FusedOps.layerNorm(x.to(GPU), null, null, 1e-3);
            assertArrayEquals(new int[]{3, 5}, g.mean().shape());
            GpuTesting.assertClose("rank 3", c.out().toFloatArray(), g.out().toFloatArray(), 2e-5, 2e-5);
            Tensor empty = Tensor.zeros(GPU, DType.F32, 0, 9);
            Tensor gamma = Tensor.ones(GPU, DType.F32, 9);
            FusedOps.LayerNormResult e = FusedOps.layerNorm(empty, gamma, gamma, 1e-5);
            FusedOps.LayerNormGrads eg = FusedOps.layerNormBackward(empty, gamma, e.mean(), e.rstd(), empty, true, true);
            assertArrayEquals(new float[9], eg.gradGamma().toFloatArray());
            assertArrayEquals(new float[9], eg.gradBeta().toFloatArray());
        }
    }

    @Test
    void rejectsF64AndMixedDevices() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(GPU, DType.F32, 2, 3);
            assertThrows(IllegalArgumentException.class, () -> FusedOps.layerNorm(x, Tensor.ones(Device.CPU, DType.F32, 3), null, 1e-5));
        }
    }
}
