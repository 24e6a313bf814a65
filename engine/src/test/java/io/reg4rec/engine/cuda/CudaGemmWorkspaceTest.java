package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The cuBLAS handle gets its workspace, and GEMMs through it stay right. */
@Tag("gpu")
class CudaGemmWorkspaceTest {
    @Test
    void handleHasTheWorkspaceForItsArchitecture() {
        assumeGpu();
        CudaBackend backend = CudaBackend.device(0);
        assumeTrue(backend.gemm().cublasReady(), () -> "cuBLAS unavailable: " + backend.gemm().cublasProblem());
        long expected = backend.computeCapability() >= 90 ? CudaGemm.WORKSPACE_BYTES_SM90 : CudaGemm.WORKSPACE_BYTES_OTHER;
        assertEquals(expected, backend.gemm().cublasWorkspaceBytes());
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.randn(Device.CPU, DType.F32, 1, 256, 512), b = Tensor.randn(Device.CPU, DType.F32, 2, 512, 384);
            float[] cpu = a.matmul(b).toFloatArray();
            float[] gpu = a.to(GPU).to(DType.BF16).matmul(b.to(GPU).to(DType.BF16)).toFloatArray();
            assertTrue(GpuTesting.relativeFrobenius(cpu, gpu) < 1e-2, "bf16 GEMM through the workspace");
        }
    }
}
