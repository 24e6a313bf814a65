package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * Run in a JVM without jdk.incubator.vector by {@link CpuGemmTest}: the backend must fall back to
 * the scalar kernel and still produce results in the documented summation order. Exit code 0 on success.
 */
public final class ScalarFallbackMain {
    public static void main(String[] args) {
        int m = 70, k = 300, n = 150;
        try (Tensor a = Tensor.randn(Device.CPU, DType.F32, 1, m, k); Tensor bt = Tensor.randn(Device.CPU, DType.F32, 2, n, k);
             Tensor b = bt.transpose(0, 1); Tensor c = a.matmul(b)) {
            float[] av = (float[]) a.toHost(), bv = (float[]) b.toHost(), cv = (float[]) c.toHost();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    if (CpuGemmTest.dot(av, i * k, 1, bv, j, n, k) != cv[i * n + j]) {
                        System.out.println("mismatch at " + i + "," + j);
                        System.exit(1);
                    }
                }
            }
        }
        System.out.println("kernel=" + Gemm.kernelName());
        System.exit(Gemm.vectorApiPresent() || !(Gemm.KERNEL instanceof ScalarGemmKernel) ? 2 : 0);
    }
}
