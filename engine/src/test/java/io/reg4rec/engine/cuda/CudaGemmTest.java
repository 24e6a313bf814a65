package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * matmul on CUDA through both implementations (cuBLAS and gemm.cu) against the CPU backend.
 * Tolerances, relative to the Frobenius norm of the result: fp32 1e-4 (cuBLAS may sum in a
 * different order), bf16 inputs with fp32 accumulation 1e-2 (bf16 output rounding).
 */
@Tag("gpu")
class CudaGemmTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    @AfterEach
    void clearProperty() { System.clearProperty(CudaGemm.PROPERTY); }

    static void useImpl(CudaGemm.Impl impl) {
        System.setProperty(CudaGemm.PROPERTY, switch (impl) {
            case CUBLAS -> "cublas";
            case OWN -> "own";
            case OWN_SIMT -> "own-simt";
        });
        if (impl == CudaGemm.Impl.CUBLAS) {
            CudaGemm g = CudaBackend.device(0).gemm();
            assumeTrue(g.cublasReady(), () -> "JCublas unavailable: " + g.cublasProblem());
        }
        assertEquals(impl, CudaBackend.device(0).gemm().implementation());
    }

    static void check(String what, Tensor cpuA, Tensor cpuB, java.util.function.BinaryOperator<Tensor> f, double tol) {
        try (Scope s = Scope.open()) {
            Tensor e = f.apply(cpuA, cpuB);
            Tensor a = f.apply(cpuA.to(GPU), cpuB.to(GPU));
            assertArrayEquals(e.shape(), a.shape(), what + ": shape");
            double err = relativeFrobenius(e.toFloatArray(), a.toFloatArray());
            assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
        }
    }

    void shapesAndTransposes(CudaGemm.Impl impl) {
        useImpl(impl);
        int[][] mnk = {{1, 1, 1}, {7, 33, 5}, {33, 7, 1000}, {1000, 33, 7}, {129, 257, 65}, {4097, 3, 2}};
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            double tol = t == DType.F32 ? 1e-4 : 1e-2;
            for (int[] d : mnk) {
                int m = d[0], n = d[1], k = d[2];
                String base = impl + " " + t + " " + m + "x" + n + "x" + k;
                try (Scope s = Scope.open()) {
                    Tensor a = cpuRandom(t, m, -1, 1, m, k), b = cpuRandom(t, n, -1, 1, k, n);
                    check(base, a, b, Tensor::matmul, tol);
                    Tensor at = cpuRandom(t, m + 1, -1, 1, k, m), bt = cpuRandom(t, n + 1, -1, 1, n, k);
                    check(base + " A^T", at, b, (x, y) -> x.transpose(0, 1).matmul(y), tol);
                    check(base + " B^T", a, bt, (x, y) -> x.matmul(y.transpose(0, 1)), tol);
                    check(base + " A^T B^T", at, bt, (x, y) -> x.transpose(0, 1).matmul(y.transpose(0, 1)), tol);
                }
            }
            try (Scope s = Scope.open()) {
                Tensor a = cpuRandom(t, 1, -1, 1, 5, 33, 47), b = cpuRandom(t, 2, -1, 1, 5, 47, 7);
                check(impl + " " + t + " batched", a, b, Tensor::matmul, tol);
                Tensor w = cpuRandom(t, 3, -1, 1, 47, 7);
                check(impl + " " + t + " batch x shared matrix (stride 0)", a, w, Tensor::matmul, tol);
                Tensor a1 = cpuRandom(t, 4, -1, 1, 1, 33, 47);
                check(impl + " " + t + " broadcast batch of 1", a1, b, Tensor::matmul, tol);
                check(impl + " " + t + " batched transposes", a, b, (x, y) -> x.transpose(1, 2).contiguous().transpose(1, 2)
                        .matmul(y.transpose(1, 2).contiguous().transpose(1, 2)), tol);
                Tensor big = cpuRandom(t, 5, -1, 1, 60, 60);
                check(impl + " " + t + " sliced operands", big, big, (x, y) -> x.slice(0, 3, 36).slice(1, 2, 50).matmul(y.slice(0, 5, 53).slice(1, 1, 40)), tol);
            }
        }
        try (Scope s = Scope.open()) {
            // k = 0 gives zeros; bf16 inputs with an fp32 output through the backend directly.
            Tensor z = Tensor.zeros(GPU, DType.F32, 4, 0).matmul(Tensor.zeros(GPU, DType.F32, 0, 3));
            assertArrayEquals(new float[12], z.toFloatArray());
            Tensor a = cpuRandom(DType.BF16, 8, -1, 1, 1, 33, 47), b = cpuRandom(DType.BF16, 9, -1, 1, 1, 47, 7);
            Tensor outCpu = Tensor.empty(Device.CPU, DType.F32, 1, 33, 7), outGpu = Tensor.empty(GPU, DType.F32, 1, 33, 7);
            Engine.backend(Device.CPU).matmul(a, false, b, false, outCpu);
            Engine.backend(GPU).matmul(a.to(GPU), false, b.to(GPU), false, outGpu);
            assertTrue(relativeFrobenius(outCpu.toFloatArray(), outGpu.toFloatArray()) <= 1e-5, impl + " bf16 -> fp32 output");
        }
    }

    @Test
    void ownKernelsMatchTheCpu() { shapesAndTransposes(CudaGemm.Impl.OWN); }

    @Test
    void ownCudaCoreKernelsMatchTheCpu() { shapesAndTransposes(CudaGemm.Impl.OWN_SIMT); }

    @Test
    void cublasMatchesTheCpu() { shapesAndTransposes(CudaGemm.Impl.CUBLAS); }

    @Test
    void autoPicksCublasWhenItLoadsAndTheOwnKernelOtherwise() {
        System.clearProperty(CudaGemm.PROPERTY);
        CudaGemm g = CudaBackend.device(0).gemm();
        assertEquals(g.cublasReady() ? CudaGemm.Impl.CUBLAS : CudaGemm.Impl.OWN, g.implementation());
        System.setProperty(CudaGemm.PROPERTY, "fastest");
        assertThrows(IllegalArgumentException.class, g::implementation);
    }
}
