package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cpu.CpuTestSupport.CPU;
import static io.reg4rec.engine.cpu.CpuTestSupport.random;
import static io.reg4rec.engine.cpu.CpuTestSupport.values;
import static org.junit.jupiter.api.Assertions.*;

/** The CPU reference of the fused layer norm and cross-entropy against the formulas written out in doubles. */
class CpuFusedOpsTest {

    @Test
    void layerNormMatchesTheFormula() {
        for (int cols : new int[]{1, 5, 130}) {
            try (Scope s = Scope.open()) {
                int rows = 7;
                Tensor x = random(DType.F64, cols, -3, 3, rows, cols);
                Tensor gamma = random(DType.F64, cols + 1, 0.5, 1.5, cols), beta = random(DType.F64, cols + 2, -1, 1, cols);
                FusedOps.LayerNormResult r = FusedOps.layerNorm(x, gamma, beta, 1e-5);
                double[] xv = values(x), g = values(gamma), b = values(beta), out = values(r.out());
                double[] mean = values(r.mean()), rstd = values(r.rstd());
                for (int i = 0; i < rows; i++) {
                    double mu = 0, var = 0;
                    for (int j = 0; j < cols; j++) mu += xv[i * cols + j] / cols;
                    for (int j = 0; j < cols; j++) var += (xv[i * cols + j] - mu) * (xv[i * cols + j] - mu) / cols;
                    double inv = 1 / Math.sqrt(var + 1e-5);
                    assertEquals(mu, mean[i], 1e-12);
                    assertEquals(inv, rstd[i], 1e-9 * inv);
                    for (int j = 0; j < cols; j++) {
                        assertEquals((xv[i * cols + j] - mu) * inv * g[j] + b[j], out[i * cols + j], 1e-10, "row " + i + " col " + j);
                    }
                }
            }
        }
    }

    @Test
    void layerNormBackwardMatchesTheFormulaAndIsIndependentOfLayout() {
        try (Scope s = Scope.open()) {
            int rows = 9, cols = 6;
            Tensor x = random(DType.F64, 1, -2, 2, 3, 3, cols);
            Tensor gamma = random(DType.F64, 2, 0.5, 1.5, cols);
            Tensor dy = random(DType.F64, 3, -1, 1, 3, 3, cols);
            FusedOps.LayerNormResult r = FusedOps.layerNorm(x, gamma, null, 1e-5);
            FusedOps.LayerNormGrads grads = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), dy, true, true);
            double[] xv = values(x), g = values(gamma), d = values(dy), gx = values(grads.gradX());
            double[] gg = values(grads.gradGamma()), gb = values(grads.gradBeta());
            double[] mean = values(r.mean()), rstd = values(r.rstd());
            double[] sumG = new double[cols], sumB = new double[cols];
            for (int i = 0; i < rows; i++) {
                double a = 0, c = 0;
                for (int j = 0; j < cols; j++) {
                    double xhat = (xv[i * cols + j] - mean[i]) * rstd[i];
                    a += d[i * cols + j] * g[j] / cols;
                    c += d[i * cols + j] * g[j] * xhat / cols;
                    sumG[j] += d[i * cols + j] * xhat;
                    sumB[j] += d[i * cols + j];
                }
                for (int j = 0; j < cols; j++) {
                    double xhat = (xv[i * cols + j] - mean[i]) * rstd[i];
                    assertEquals(rstd[i] * (d[i * cols + j] * g[j] - a - xhat * c), gx[i * cols + j], 1e-10);
                }
            }
            for (int j = 0; j < cols; j++) {
                assertEquals(sumG[j], gg[j], 1e-10);
                assertEquals(sumB[j], gb[j], 1e-10);
            }
            // a transposed (strided) gradient gives the same result
            Tensor dyT = dy.transpose(0, 1).contiguous().transpose(0, 1);
            assertFalse(dyT.isContiguous());
            FusedOps.LayerNormGrads again = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), dyT, true, false);
            assertArrayEquals(gx, values(again.gradX()));
            assertNull(again.gradBeta());
        }
    }

    @Test
    void layerNormKeepsStatisticsInF32ForF32AndBf16() {
        try (Scope s = Scope.open()) {
            for (DType t : new DType[]{DType.F32, DType.BF16}) {
                FusedOps.LayerNormResult r = FusedOps.layerNorm(random(t, 4, -1, 1, 3, 10), null, null, 1e-5);
                assertEquals(t, r.out().dtype());
                assertEquals(DType.F32, r.mean().dtype());
                assertEquals(DType.F32, r.rstd().dtype());
            }
        }
    }

    @Test
    void layerNormOfNoRowsAndItsGradients() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(CPU, DType.F32, 0, 4);
            Tensor gamma = Tensor.ones(CPU, DType.F32, 4);
            FusedOps.LayerNormResult r = FusedOps.layerNorm(x, gamma, gamma, 1e-5);
            assertArrayEquals(new int[]{0, 4}, r.out().shape());
            FusedOps.LayerNormGrads g = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), x, true, true);
            assertArrayEquals(new float[4], g.gradGamma().toFloatArray());
            assertArrayEquals(new float[4], g.gradBeta().toFloatArray());
        }
    }

    @Test
    void layerNormRejectsBadArguments() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(CPU, DType.F32, 3, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FusedOps.layerNorm(x, Tensor.ones(CPU, DType.F32, 5), null, 1e-5));
            assertTrue(e.getMessage().contains("gamma") && e.getMessage().contains("[5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> FusedOps.layerNorm(x, Tensor.ones(CPU, DType.F64, 4), null, 1e-5));
            assertTrue(e.getMessage().contains("F64"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> FusedOps.layerNorm(x, null, null, 0));
            assertThrows(IllegalArgumentException.class, () -> FusedOps.layerNorm(Tensor.zeros(CPU, DType.I32, 3, 4), null, null, 1e-5));
            assertThrows(IllegalArgumentException.class, () -> FusedOps.layerNorm(Tensor.zeros(CPU, DType.F32, 3, 0), null, null, 1e-5));
        }
    }

    /** Loss and gradient of one row, written out in doubles. */
    private static double[] crossEntropyRow(double[] x, int offset, int classes, long target, double smoothing, double gradLoss, double[] grad) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < classes; j++) max = Math.max(max, x[offset + j]);
        double sum = 0;
        for (int j = 0; j < classes; j++) sum += Math.exp(x[offset + j] - max);
        double lse = max + Math.log(sum);
        double loss = 0;
        for (int j = 0; j < classes; j++) {
            double nll = lse - x[offset + j];
            double weight = (j == target ? 1 - smoothing : 0) + smoothing / classes;
            loss += weight * nll;
            grad[offset + j] = gradLoss * (Math.exp(x[offset + j] - lse) - weight);
        }
        return new double[]{loss, lse};
    }

    @Test
    void crossEntropyMatchesTheFormulaWithIgnoredRowsAndSmoothing() {
        for (DType targetType : new DType[]{DType.I64, DType.I32}) {
            for (double smoothing : new double[]{0, 0.1, 1}) {
                try (Scope s = Scope.open()) {
                    int rows = 6, classes = 11;
                    Tensor logits = random(DType.F64, 5, -4, 4, 2, 3, classes);
                    long[] t = {3, -100, 0, 10, -100, 7};
                    Tensor targets = Tensor.of(CPU, t, 2, 3).to(targetType);
                    FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits, targets, -100, smoothing);
                    assertArrayEquals(new int[]{2, 3}, r.losses().shape());
                    Tensor gradLosses = random(DType.F64, 6, -1, 1, 2, 3);
                    Tensor grad = FusedOps.crossEntropyBackward(logits, targets, r.logSumExp(), gradLosses, -100, smoothing);
                    double[] x = values(logits), losses = values(r.losses()), lse = values(r.logSumExp()), gl = values(gradLosses), g = values(grad);
                    double[] expectedGrad = new double[x.length];
                    for (int i = 0; i < rows; i++) {
                        double[] row = crossEntropyRow(x, i * classes, classes, t[i], smoothing, gl[i], expectedGrad);
                        assertEquals(row[1], lse[i], 1e-12);
                        if (t[i] == -100) {
                            assertEquals(0.0, losses[i]);
                            for (int j = 0; j < classes; j++) assertEquals(0.0, g[i * classes + j]);
                        } else {
                            assertEquals(row[0], losses[i], 1e-12, "row " + i);
                            for (int j = 0; j < classes; j++) assertEquals(expectedGrad[i * classes + j], g[i * classes + j], 1e-12);
                        }
                    }
                }
            }
        }
    }

    @Test
    void crossEntropyOfEmptyBatchAndBadTargets() {
        try (Scope s = Scope.open()) {
            FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(Tensor.zeros(CPU, DType.F32, 0, 5), Tensor.of(CPU, new long[0], 0), -100, 0.1);
            assertEquals(0, r.losses().numel());
            Tensor logits = Tensor.zeros(CPU, DType.F32, 2, 5);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> FusedOps.crossEntropy(logits, Tensor.of(CPU, new long[]{1, 5}, 2), -100, 0));
            assertTrue(e.getMessage().contains("target 5") && e.getMessage().contains("row 1"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> FusedOps.crossEntropy(logits, Tensor.of(CPU, new long[]{-1, 0}, 2), -100, 0));
            assertThrows(IllegalArgumentException.class, () -> FusedOps.crossEntropy(logits, Tensor.of(CPU, new long[]{1}, 1), -100, 0));
            assertThrows(IllegalArgumentException.class, () -> FusedOps.crossEntropy(logits, Tensor.zeros(CPU, DType.F32, 2), -100, 0));
            assertThrows(IllegalArgumentException.class, () -> FusedOps.crossEntropy(logits, Tensor.of(CPU, new long[]{1, 2}, 2), -100, 1.5));
        }
    }

    @Test
    void crossEntropyHandlesMaskedClassesWithoutSmoothing() {
        try (Scope s = Scope.open()) {
            float[] v = {0f, Float.NEGATIVE_INFINITY, 1f, Float.NEGATIVE_INFINITY};
            Tensor logits = Tensor.of(CPU, v, 1, 4);
            FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits, Tensor.of(CPU, new long[]{2}, 1), -100, 0);
            double expected = Math.log(1 + Math.E) - 1;
            assertEquals(expected, r.losses().item(), 1e-6);
            Tensor g = FusedOps.crossEntropyBackward(logits, Tensor.of(CPU, new long[]{2}, 1), r.logSumExp(), Tensor.ones(CPU, DType.F32, 1), -100, 0);
            float[] gv = g.toFloatArray();
            assertEquals(0f, gv[1]);
            assertEquals(0f, gv[3]);
            assertEquals(0.0, gv[0] + gv[2], 1e-6);
        }
    }
}
