package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedDropout;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.ODD_SIZES;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;

/**
 * dropout.cu against the CPU reference: the same counter-based mask and one fp32 multiply, so
 * F32 and BF16 results must be bit-identical (tolerance 0), on odd sizes and strided inputs.
 */
@Tag("gpu")
class CudaDropoutTest {
    @Test
    void matchesTheCpuReferenceExactly() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int n : ODD_SIZES) {
                for (double p : new double[]{0.0, 0.1, 0.5}) {
                    try (Scope scope = Scope.open()) {
                        Tensor x = cpuRandom(dtype, n * 31L + 1, -3, 3, n);
                        float[] expected = FusedDropout.apply(x, 1234L + n, p).toFloatArray();
                        float[] actual = FusedDropout.apply(x.to(GPU), 1234L + n, p).toFloatArray();
                        assertClose(dtype + " n " + n + " p " + p, expected, actual, 0, 0);
                    }
                }
            }
        }
    }

    @Test
    void stridedInputFollowsTheViewsOrder() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor x = cpuRandom(DType.F32, 9, -1, 1, 33, 65);
            float[] expected = FusedDropout.apply(x.transpose(0, 1), 77, 0.2).toFloatArray();
            float[] actual = FusedDropout.apply(x.to(GPU).transpose(0, 1), 77, 0.2).toFloatArray();
            assertClose("transposed", expected, actual, 0, 0);
        }
    }

    @Test
    void residualFormMatchesTheCpuReferenceExactly() {
        assumeGpu();
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            try (Scope scope = Scope.open()) {
                Tensor x = cpuRandom(dtype, 21, -3, 3, 4097), r = cpuRandom(dtype, 22, -3, 3, 4097);
                float[] expected = FusedDropout.apply(x, r, 99, 0.1).toFloatArray();
                float[] actual = FusedDropout.apply(x.to(GPU), r.to(GPU), 99, 0.1).toFloatArray();
                assertClose(dtype + " with residual", expected, actual, 0, 0);
                Tensor x2 = cpuRandom(dtype, 23, -3, 3, 37, 33), b = cpuRandom(dtype, 24, -1, 1, 33), r2 = cpuRandom(dtype, 25, -3, 3, 37, 33);
                assertClose(dtype + " with bias and residual", FusedDropout.apply(x2, b, r2, 7, 0.1).toFloatArray(),
                        FusedDropout.apply(x2.to(GPU), b.to(GPU), r2.to(GPU), 7, 0.1).toFloatArray(), 0, 0);
            }
        }
    }
}
