package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedSoftmax;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;

/**
 * softmax_backward.cu against the CPU reference over odd row lengths (1 to 2403: fewer and more
 * than a warp's 32 lanes). Both sum in fp32 but in different orders, so F32 agrees to 1e-5
 * relative with an absolute floor of 1e-6 (outputs are differences of terms of size ~|g|);
 * BF16 to one bf16 ulp (1/128 relative) with a floor of 1e-2.
 */
@Tag("gpu")
class CudaSoftmaxBackwardTest {
    @Test
    void matchesTheCpuReference() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int len : new int[]{1, 9, 33, 50, 2403}) {
                for (boolean log : new boolean[]{false, true}) {
                    try (Scope scope = Scope.open()) {
                        Tensor x = cpuRandom(dtype, len, -3, 3, 7, 13, len), g = cpuRandom(dtype, len + 1, -1, 1, 7, 13, len);
                        Tensor y = log ? x.logSoftmax(2) : x.softmax(2);
                        float[] expected = FusedSoftmax.backward(y, g, log).toFloatArray();
                        float[] actual = FusedSoftmax.backward(y.to(GPU), g.to(GPU), log).toFloatArray();
                        boolean bf16 = dtype == DType.BF16;
                        assertClose(dtype + " len " + len + " log " + log, expected, actual, bf16 ? 1.0 / 128 : 1e-5, bf16 ? 1e-2 : 1e-6);
                    }
                }
            }
        }
    }
}
