package io.reg4rec.bench.gpu;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.CudaBackend;
import io.reg4rec.engine.cuda.CudaGemm;

import java.util.List;
import java.util.Locale;

/**
 * The engine's own tensor-core GEMMs (gemm_tc.cu, gemm_wgmma.cu) next to cuBLAS through the engine:
 * bf16 through Backend#matmul with -Dreg4rec.gemm=own on both own bf16 kernels (impl own_mma, and
 * own_wgmma on sm_90, chosen by -Dreg4rec.gemm.bf16) and with =cublas, and fp8 (E4M3 x E4M3, bf16 output)
 * through Backend#matmulScaled on both own fp8 kernels (impl own_mma, and own_wgmma on sm_90), on square problems and on the model's shapes (the two linear
 * layers of 51200 rows, 128 -> 640 -> 128, and their backward products: dX = dY W^T and
 * dW = X^T dY). Outputs are preallocated, so only the GEMM (and, for layouts the kernels do not
 * take directly, their operand repacking) is timed: CUDA events, median over the repetitions.
 * fp8 problems use the layout fp8 GEMMs are fed in (A [m, k], B stored [n, k]).
 *
 * <p>Prints one JSON object per measurement: bench, impl, dtype, m, n, k, ta, tb, median_ms,
 * tflops (the peer is bench/torch/own_gemm_peer.py). Usage: {@code OwnGemmBench [--reps N>=20]}.
 */
public final class OwnGemmBench {
    /** op(A) is m x k, op(B) k x n; ta / tb: the operand is stored transposed. */
    private record Problem(String name, int m, int n, int k, boolean ta, boolean tb) {}

    private static final List<Problem> PROBLEMS = List.of(
            new Problem("square", 1024, 1024, 1024, false, false),
            new Problem("square", 4096, 4096, 4096, false, false),
            new Problem("square", 8192, 8192, 8192, false, false),
            new Problem("linear1_fwd", 51200, 640, 128, false, false),
            new Problem("linear1_dx", 51200, 128, 640, false, true),
            new Problem("linear1_dw", 128, 640, 51200, true, false),
            new Problem("linear2_fwd", 51200, 128, 640, false, false),
            new Problem("linear2_dx", 51200, 640, 128, false, true),
            new Problem("linear2_dw", 640, 128, 51200, true, false));

    public static void main(String[] args) {
        int reps = 20;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Math.max(20, Integer.parseInt(args[++i]));
            else {
                System.err.println("usage: OwnGemmBench [--reps N>=20]");
                System.exit(2);
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("OwnGemmBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        System.err.println("OwnGemmBench on " + cuda + ", compute capability " + cuda.computeCapability()
                + (cuda.gemm().cublasReady() ? ", cuBLAS " + cuda.gemm().cublasVersion() : ", cuBLAS unavailable: " + cuda.gemm().cublasProblem()));
        for (Problem p : PROBLEMS) {
            for (String kernel : cuda.computeCapability() == 90 ? List.of("mma", "wgmma") : List.of("mma")) {
                System.setProperty(CudaGemm.BF16_PROPERTY, kernel);
                bf16(cuda, "own", "own_" + kernel, p, reps);
            }
            if (cuda.gemm().cublasReady()) bf16(cuda, "cublas", "cublas", p, reps);
            if (cuda.computeCapability() >= 89) {
                Problem tn = new Problem(p.name, p.m, p.n, p.k, false, true);
                for (String kernel : cuda.computeCapability() == 90 ? List.of("mma", "wgmma") : List.of("mma")) fp8(cuda, kernel, tn, reps);
            }
        }
        System.clearProperty(CudaGemm.PROPERTY);
        System.clearProperty(CudaGemm.FP8_PROPERTY);
        System.clearProperty(CudaGemm.BF16_PROPERTY);
    }

    private static Tensor stored(Device gpu, DType t, long seed, int rows, int cols, boolean transposed) {
        return transposed ? Tensor.randn(gpu, t, seed, 1, cols, rows) : Tensor.randn(gpu, t, seed, 1, rows, cols);
    }

    private static void bf16(CudaBackend cuda, String setting, String impl, Problem p, int reps) {
        System.setProperty(CudaGemm.PROPERTY, setting);
        Device gpu = cuda.device();
        Backend backend = Engine.backend(gpu);
        try (Tensor a = stored(gpu, DType.BF16, 1, p.m, p.k, p.ta); Tensor b = stored(gpu, DType.BF16, 2, p.k, p.n, p.tb);
             Tensor out = Tensor.empty(gpu, DType.BF16, 1, p.m, p.n)) {
            double ms = DeviceTimer.medianMs(cuda, 3, reps, () -> backend.matmul(a, p.ta, b, p.tb, out));
            emit(p, impl, "bf16", ms);
        }
    }

    private static void fp8(CudaBackend cuda, String kernel, Problem p, int reps) {
        System.setProperty(CudaGemm.FP8_PROPERTY, kernel);
        Device gpu = cuda.device();
        Backend backend = Engine.backend(gpu);
        try (Tensor a32 = stored(gpu, DType.BF16, 3, p.m, p.k, p.ta); Tensor b32 = stored(gpu, DType.BF16, 4, p.k, p.n, p.tb);
             Tensor a = a32.to(DType.F8E4M3); Tensor b = b32.to(DType.F8E4M3);
             Tensor scaleA = Tensor.full(gpu, DType.F32, 0.5, 1); Tensor scaleB = Tensor.full(gpu, DType.F32, 2, 1);
             Tensor out = Tensor.empty(gpu, DType.BF16, 1, p.m, p.n)) {
            double ms = DeviceTimer.medianMs(cuda, 3, reps, () -> backend.matmulScaled(a, p.ta, b, p.tb, scaleA, scaleB, out));
            emit(p, "own_" + kernel, "e4m3", ms);
        }
    }

    private static void emit(Problem p, String impl, String dtype, double ms) {
        double tflops = 2.0 * p.m * (double) p.n * p.k / (ms * 1e-3) / 1e12;
        System.out.println(String.format(Locale.ROOT,
                "{\"bench\":\"gemm_%s\",\"impl\":\"%s\",\"dtype\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"ta\":%b,\"tb\":%b,\"median_ms\":%.6f,\"tflops\":%.3f}",
                p.name, impl, dtype, p.m, p.n, p.k, p.ta, p.tb, ms, tflops));
        System.out.flush();
    }
}
