package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused cross-entropy kernels against the CPU reference (CpuCrossEntropy) on odd shapes, up
 * to a 50257-way softmax, with ignored rows, label smoothing and both target dtypes.
 *
 * <p>Tolerances: the CPU computes each row in double, the GPU in fp32 (online max / sum, tree
 * combination). Losses and log-sum-exp: 1e-5 relative + 1e-4 absolute (lse of a 50k-way row is
 * about 11). Gradients (probabilities minus the target weights, at most 1 in magnitude): 1e-4
 * relative + 1e-6 absolute for F32; BF16 gradients may round to neighbouring bf16 values: 1/64
 * relative + 1e-4 absolute. BF16 logits are exact inputs, so losses keep the F32 tolerance.
 */
@Tag("gpu")
class CudaCrossEntropyTest {
    private static final int[][] SHAPES = {{1, 1}, {7, 33}, {129, 300}, {3, 4097}, {33, 12102}, {2, 50257}};

    private static Tensor targets(DType dtype, long seed, int rows, int classes, long ignore) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] t = new long[rows];
        for (int i = 0; i < rows; i++) t[i] = (i % 5 == 3) ? ignore : r.nextInt(classes);
        try (Tensor l = Tensor.of(Device.CPU, t, rows)) {
            return l.to(dtype);
        }
    }

    @Test
    void forwardAndBackwardMatchTheCpu() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (DType targetType : new DType[]{DType.I64, DType.I32}) {
                for (int[] shape : SHAPES) {
                    for (double smoothing : new double[]{0.0, 0.1}) {
                        try (Scope scope = Scope.open()) {
                            int rows = shape[0], classes = shape[1];
                            String what = dtype + "/" + targetType + " " + rows + "x" + classes + " s=" + smoothing + ": ";
                            Tensor logits = cpuRandom(dtype, rows * 7L + classes, -6, 6, rows, classes);
                            Tensor t = targets(targetType, classes, rows, classes, -100);
                            Tensor gradLosses = cpuRandom(DType.F32, rows, 0.5, 1.5, rows);
                            FusedOps.CrossEntropyResult c = FusedOps.crossEntropy(logits, t, -100, smoothing);
                            Tensor cg = FusedOps.crossEntropyBackward(logits, t, c.logSumExp(), gradLosses, -100, smoothing);

                            Tensor gl = logits.to(GPU), gt = t.to(GPU);
                            FusedOps.CrossEntropyResult g = FusedOps.crossEntropy(gl, gt, -100, smoothing);
                            Tensor gg = FusedOps.crossEntropyBackward(gl, gt, g.logSumExp(), gradLosses.to(GPU), -100, smoothing);

                            GpuTesting.assertClose(what + "losses", c.losses().toFloatArray(), g.losses().toFloatArray(), 1e-5, 1e-4);
                            GpuTesting.assertClose(what + "logSumExp", c.logSumExp().toFloatArray(), g.logSumExp().toFloatArray(), 1e-5, 1e-4);
                            boolean bf16 = dtype == DType.BF16;
                            GpuTesting.assertClose(what + "gradLogits", cg.toFloatArray(), gg.toFloatArray(), bf16 ? 1.0 / 64 : 1e-4, bf16 ? 1e-4 : 1e-6);
                        }
                    }
                }
            }
        }
    }

    @Test
    void ignoredRowsGiveZeroLossAndGradient() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor logits = cpuRandom(DType.F32, 3, -2, 2, 4, 9).to(GPU);
            Tensor t = Tensor.of(Device.CPU, new int[]{-1, 2, -1, 8}, 4).to(GPU);
            FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits, t, -1, 0.2);
            float[] losses = r.losses().toFloatArray();
            assertEquals(0f, losses[0]);
            assertEquals(0f, losses[2]);
            assertTrue(losses[1] > 0 && losses[3] > 0);
            Tensor g = FusedOps.crossEntropyBackward(logits, t, r.logSumExp(), Tensor.ones(GPU, DType.F32, 4), -1, 0.2);
            float[] gv = g.toFloatArray();
            for (int j = 0; j < 9; j++) {
                assertEquals(0f, gv[j]);
                assertEquals(0f, gv[18 + j]);
            }
        }
    }

    @Test
    void outOfRangeTargetIsReportedAtTheNextSynchronisation() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor logits = Tensor.zeros(GPU, DType.F32, 3, 5);
            Tensor t = Tensor.of(Device.CPU, new long[]{0, 5, 1}, 3).to(GPU);
            FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits, t, -100, 0);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> r.losses().toFloatArray());
            assertTrue(e.getMessage().contains("5"), e.getMessage());
            // the device is usable afterwards
            FusedOps.CrossEntropyResult ok = FusedOps.crossEntropy(logits, Tensor.of(Device.CPU, new long[]{0, 4, 1}, 3).to(GPU), -100, 0);
            assertEquals((float) Math.log(5), ok.losses().toFloatArray()[1], 1e-6);
        }
    }

    @Test
    void emptyBatch() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(Tensor.zeros(GPU, DType.F32, 0, 7), Tensor.of(Device.CPU, new long[0], 0).to(GPU), -100, 0.1);
            assertEquals(0, r.losses().toFloatArray().length);
        }
    }
}
