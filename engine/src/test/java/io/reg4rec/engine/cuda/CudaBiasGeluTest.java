package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedBiasGelu;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;

/**
 * bias_gelu.cu against the CPU reference. The kernel evaluates tanh and the polynomial in fp32,
 * the reference in double, so F32 agrees to 1e-5 relative with a 1e-5 absolute floor (gelu' has
 * a zero near t = -0.75 where relative error means nothing); BF16 to one bf16 ulp (1/128) with a
 * 1e-2 floor.
 */
@Tag("gpu")
class CudaBiasGeluTest {
    @Test
    void forwardAndBackwardMatchTheCpuReference() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int cols : new int[]{1, 33, 640}) {
                for (boolean withBias : new boolean[]{true, false}) {
                    try (Scope scope = Scope.open()) {
                        Tensor x = cpuRandom(dtype, cols, -5, 5, 37, cols), g = cpuRandom(dtype, cols + 1, -1, 1, 37, cols);
                        Tensor b = withBias ? cpuRandom(dtype, cols + 2, -1, 1, cols) : null;
                        Tensor xg = x.to(GPU), gg = g.to(GPU), bg = withBias ? b.to(GPU) : null;
                        boolean bf16 = dtype == DType.BF16;
                        double rel = bf16 ? 1.0 / 128 : 1e-5, abs = bf16 ? 1e-2 : 1e-5;
                        String what = dtype + " cols " + cols + (withBias ? " with bias" : "");
                        assertClose(what + " forward", FusedBiasGelu.forward(x, b).toFloatArray(), FusedBiasGelu.forward(xg, bg).toFloatArray(), rel, abs);
                        assertClose(what + " backward", FusedBiasGelu.backward(x, b, g).toFloatArray(), FusedBiasGelu.backward(xg, bg, gg).toFloatArray(), rel, abs);
                    }
                }
            }
        }
    }
}
