package io.reg4rec.engine.cuda;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedAdamW;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;

/**
 * adamw_segments.cu against the CPU reference (adamwStep per segment): the same fp32 operations
 * in the same order, so results must agree to the bit (tolerance 0), over odd segment sizes
 * (an empty one included), parameters that are views inside larger tensors, and more segments
 * than one launch takes.
 */
@Tag("gpu")
class CudaAdamWSegmentsTest {
    @Test
    void matchesTheCpuReferenceOverOddSegments() {
        assumeGpu();
        int[] sizes = {1, 7, 0, 4097, 33, 300_001, 128};
        run(sizes);
    }

    @Test
    void moreSegmentsThanOneLaunchTakes() {
        assumeGpu();
        int[] sizes = new int[CudaAdamWSegments.MAX_SEGMENTS + 37];
        for (int i = 0; i < sizes.length; i++) sizes[i] = 1 + (i * 7) % 13;
        run(sizes);
    }

    private static void run(int[] sizes) {
        try (Scope scope = Scope.open()) {
            int total = 0;
            for (int n : sizes) total += n;
            Tensor[] cpuParams = new Tensor[sizes.length], gpuParams = new Tensor[sizes.length];
            Tensor[] cpuGrads = new Tensor[sizes.length], gpuGrads = new Tensor[sizes.length];
            for (int s = 0; s < sizes.length; s++) {
                // each parameter a slice in the middle of a larger tensor: the kernel must honour offsets
                Tensor host = cpuRandom(DType.F32, 17L * s + 1, -1, 1, sizes[s] + 5);
                Tensor device = host.to(GPU);
                cpuParams[s] = host.slice(0, 3, 3 + sizes[s]);
                gpuParams[s] = device.slice(0, 3, 3 + sizes[s]);
                cpuGrads[s] = cpuRandom(DType.F32, 17L * s + 2, -2, 2, sizes[s]);
                gpuGrads[s] = cpuGrads[s].to(GPU);
            }
            Tensor cm = Tensor.zeros(Device.CPU, DType.F32, total), cv = Tensor.zeros(Device.CPU, DType.F32, total);
            Tensor gm = cm.to(GPU), gv = cv.to(GPU);
            for (int t = 1; t <= 3; t++) {
                AdamWHyper h = new AdamWHyper(1e-3 * t, 0.9, 0.999, 1e-8, 0.01, t);
                FusedAdamW.apply(cpuParams, cpuGrads, cm, cv, h);
                FusedAdamW.apply(gpuParams, gpuGrads, gm, gv, h);
            }
            assertClose("m", cm.toFloatArray(), gm.toFloatArray(), 0, 0);
            assertClose("v", cv.toFloatArray(), gv.toFloatArray(), 0, 0);
            for (int s = 0; s < sizes.length; s++) {
                assertClose("param " + s, cpuParams[s].toFloatArray(), gpuParams[s].toFloatArray(), 0, 0);
            }
        }
    }
}
