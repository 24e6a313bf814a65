package io.reg4rec.engine.cuda;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedAdamW;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * grad_norm.cu and the clipped entry point of adamw_segments.cu against the CPU reference.
 * Tolerances: the sum of squares (fp32 fma per thread, fixed fp32 trees, vs double rounded once)
 * within a relative 1e-5 of the reference (the bound for these sizes is a few 1e-7), and equal
 * bits on a repeated call (determinism); the clipped step given the same sum-of-squares scalar
 * on both sides is the same fp32 operations in the same order, so tolerance 0; the clipped step
 * fed with each side's own sum of squares within a relative 1e-5 (the clip factor may differ by
 * an ulp or so, the Adam update is nearly scale-invariant in the gradient).
 */
@Tag("gpu")
class CudaGradNormTest {
    /** 300 segments: sizes 0, 1 and odd ones, some large, with parameters as views inside larger tensors. */
    private static int[] manySizes() {
        SplittableRandom r = new SplittableRandom(11);
        int[] sizes = new int[300];
        for (int s = 0; s < sizes.length; s++) {
            sizes[s] = switch (s % 10) {
                case 0 -> 0;
                case 1 -> 1;
                case 2 -> 4097 + r.nextInt(3000);
                case 3 -> 33;
                default -> 1 + r.nextInt(700);
            };
        }
        sizes[150] = 300_001;
        return sizes;
    }

    /** Host tensors of the given sizes (views at offset 3 in a larger buffer), values of magnitude up to scale. */
    private static Tensor[] hostSegments(int[] sizes, long seed, double scale) {
        Tensor[] xs = new Tensor[sizes.length];
        for (int s = 0; s < sizes.length; s++) {
            Tensor host = cpuRandom(DType.F32, seed + 31L * s, -scale, scale, sizes[s] + 5);
            xs[s] = host.slice(0, 3, 3 + sizes[s]);
        }
        return xs;
    }

    private static Tensor[] toGpu(Tensor[] host) {
        Tensor[] out = new Tensor[host.length];
        for (int s = 0; s < host.length; s++) {
            // copy the whole backing layout (offset 3 inside a larger device tensor) so the kernel must honour offsets
            try (Tensor padded = Tensor.zeros(Device.CPU, DType.F32, (int) host[s].numel() + 5)) {
                padded.slice(0, 3, 3 + (int) host[s].numel()).copyFrom(host[s]);
                Tensor device = padded.to(GPU);
                out[s] = device.slice(0, 3, 3 + (int) host[s].numel());
            }
        }
        return out;
    }

    private static void checkSumOfSquares(int[] sizes) {
        try (Scope scope = Scope.open()) {
            Tensor[] host = hostSegments(sizes, 5, 2), device = toGpu(host);
            float expected = GradNorm.sumOfSquares(Device.CPU, host).toFloatArray()[0];
            Tensor out = Tensor.full(GPU, DType.F32, 123, 1);   // the old value is ignored
            GradNorm.sumOfSquares(device, out);
            float got = out.toFloatArray()[0];
            assertClose("sum of squares", new float[]{expected}, new float[]{got}, 1e-5, 0);
            float again = GradNorm.sumOfSquares(GPU, device).toFloatArray()[0];
            assertEquals(Float.floatToRawIntBits(got), Float.floatToRawIntBits(again), "repeated sum of squares: equal bits");
        }
    }

    @Test
    void sumOfSquaresOverManyOddSegments() {
        assumeGpu();
        checkSumOfSquares(manySizes());
    }

    @Test
    void sumOfSquaresOfOneSegmentOfEachOddSize() {
        assumeGpu();
        for (int n : GpuTesting.ODD_SIZES) checkSumOfSquares(new int[]{n});
        checkSumOfSquares(new int[]{2_000_003});
    }

    @Test
    void sumOfSquaresOverMoreSegmentsThanOneLaunchTakes() {
        assumeGpu();
        int[] sizes = new int[CudaGradNorm.MAX_SEGMENTS * 2 + 37];
        for (int i = 0; i < sizes.length; i++) sizes[i] = (i * 7) % 13;   // zeros included
        checkSumOfSquares(sizes);
    }

    @Test
    void sumOfSquaresOfNothingOrOnlyEmptyTensorsIsZero() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor out = Tensor.full(GPU, DType.F32, 7, 1);
            GradNorm.sumOfSquares(new Tensor[0], out);
            assertEquals(0f, out.toFloatArray()[0]);
            Tensor empty = Tensor.zeros(GPU, DType.F32, 0);
            Tensor out2 = Tensor.full(GPU, DType.F32, 7, 1);
            GradNorm.sumOfSquares(new Tensor[]{empty, empty, empty}, out2);
            assertEquals(0f, out2.toFloatArray()[0]);
        }
    }

    @Test
    void clippedStepMatchesTheCpuReference() {
        assumeGpu();
        int[] sizes = manySizes();
        int total = 0;
        for (int n : sizes) total += n;
        // gradient magnitudes: zero, small (no clipping), large (clipping)
        for (double gradScale : new double[]{0, 1e-4, 3}) {
            try (Scope scope = Scope.open()) {
                Tensor[] cpuParams = hostSegments(sizes, 1000, 1), gpuParams = toGpu(cpuParams);
                Tensor[] cpuGrads = hostSegments(sizes, 2000, gradScale), gpuGrads = toGpu(cpuGrads);
                Tensor cm = Tensor.zeros(Device.CPU, DType.F32, total), cv = Tensor.zeros(Device.CPU, DType.F32, total);
                Tensor gm = cm.to(GPU), gv = cv.to(GPU);
                double maxNorm = 1.0;
                for (int t = 1; t <= 3; t++) {
                    AdamWHyper h = new AdamWHyper(1e-3 * t, 0.9, 0.999, 1e-8, 0.01, t);
                    // the same sum-of-squares value on both sides: equal bits expected
                    Tensor cpuSum = GradNorm.sumOfSquares(Device.CPU, cpuGrads), gpuSum = cpuSum.to(GPU);
                    FusedAdamW.applyClipped(cpuParams, cpuGrads, cm, cv, h, cpuSum, maxNorm);
                    FusedAdamW.applyClipped(gpuParams, gpuGrads, gm, gv, h, gpuSum, maxNorm);
                }
                String what = "grad scale " + gradScale;
                assertClose(what + ": m", cm.toFloatArray(), gm.toFloatArray(), 0, 0);
                assertClose(what + ": v", cv.toFloatArray(), gv.toFloatArray(), 0, 0);
                for (int s = 0; s < sizes.length; s++) {
                    assertClose(what + ": param " + s, cpuParams[s].toFloatArray(), gpuParams[s].toFloatArray(), 0, 0);
                    assertClose(what + ": gradient " + s + " unchanged", cpuGrads[s].toFloatArray(), gpuGrads[s].toFloatArray(), 0, 0);
                }
            }
        }
    }

    @Test
    void clippedStepWithItsOwnDeviceNormIsCloseToTheCpuPipeline() {
        assumeGpu();
        int[] sizes = manySizes();
        int total = 0;
        for (int n : sizes) total += n;
        try (Scope scope = Scope.open()) {
            Tensor[] cpuParams = hostSegments(sizes, 3000, 1), gpuParams = toGpu(cpuParams);
            Tensor[] cpuGrads = hostSegments(sizes, 4000, 3), gpuGrads = toGpu(cpuGrads);
            Tensor cm = Tensor.zeros(Device.CPU, DType.F32, total), cv = Tensor.zeros(Device.CPU, DType.F32, total);
            Tensor gm = cm.to(GPU), gv = cv.to(GPU);
            AdamWHyper h = new AdamWHyper(1e-2, 0.9, 0.999, 1e-8, 0.01, 1);
            FusedAdamW.applyClipped(cpuParams, cpuGrads, cm, cv, h, GradNorm.sumOfSquares(Device.CPU, cpuGrads), 0.5);
            FusedAdamW.applyClipped(gpuParams, gpuGrads, gm, gv, h, GradNorm.sumOfSquares(GPU, gpuGrads), 0.5);
            assertClose("m", cm.toFloatArray(), gm.toFloatArray(), 1e-5, 1e-12);
            assertClose("v", cv.toFloatArray(), gv.toFloatArray(), 1e-5, 1e-15);
            for (int s = 0; s < sizes.length; s++) {
                assertClose("param " + s, cpuParams[s].toFloatArray(), gpuParams[s].toFloatArray(), 1e-5, 1e-7);
            }
        }
    }

    @Test
    void clippedStepOverMoreSegmentsThanOneLaunchTakes() {
        assumeGpu();
        int[] sizes = new int[CudaAdamWSegments.MAX_SEGMENTS + 37];
        for (int i = 0; i < sizes.length; i++) sizes[i] = (i * 7) % 13;
        int total = 0;
        for (int n : sizes) total += n;
        try (Scope scope = Scope.open()) {
            Tensor[] cpuParams = hostSegments(sizes, 5000, 1), gpuParams = toGpu(cpuParams);
            Tensor[] cpuGrads = hostSegments(sizes, 6000, 2), gpuGrads = toGpu(cpuGrads);
            Tensor cm = Tensor.zeros(Device.CPU, DType.F32, total), cv = Tensor.zeros(Device.CPU, DType.F32, total);
            Tensor gm = cm.to(GPU), gv = cv.to(GPU);
            AdamWHyper h = new AdamWHyper(1e-3, 0.9, 0.999, 1e-8, 0.01, 1);
            Tensor cpuSum = GradNorm.sumOfSquares(Device.CPU, cpuGrads), gpuSum = cpuSum.to(GPU);
            FusedAdamW.applyClipped(cpuParams, cpuGrads, cm, cv, h, cpuSum, 1.0);
            FusedAdamW.applyClipped(gpuParams, gpuGrads, gm, gv, h, gpuSum, 1.0);
            assertClose("m", cm.toFloatArray(), gm.toFloatArray(), 0, 0);
            assertClose("v", cv.toFloatArray(), gv.toFloatArray(), 0, 0);
            for (int s = 0; s < sizes.length; s++) assertClose("param " + s, cpuParams[s].toFloatArray(), gpuParams[s].toFloatArray(), 0, 0);
        }
    }
}
