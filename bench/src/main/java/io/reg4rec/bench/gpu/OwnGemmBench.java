package io.reg4rec.bench.gpu;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.CudaBackend;
import io.reg4rec.engine.cuda.CudaGemm;
import io.reg4rec.engine.cuda.WgmmaTuning;

import java.util.List;
import java.util.Locale;

/**
 * The engine's own tensor-core GEMMs (gemm_tc.cu, gemm_wgmma.cu, gemm_tma.cu) next to cuBLAS through the engine:
 * bf16 through Backend#matmul with -Dreg4rec.gemm=own on the own bf16 kernels (impl own_mma, and
 * own_wgmma and own_tma on sm_90, chosen by -Dreg4rec.gemm.bf16) and with =cublas, and fp8 (E4M3 x E4M3, bf16 output)
 * through Backend#matmulScaled on the own fp8 kernels (impl own_mma, and own_wgmma and own_tma on sm_90; own_tma
 * runs the cp.async kernel where the plan splits k), on square problems and on the model's shapes (the two linear
 * layers of 51200 rows, 128 -> 640 -> 128, and their backward products: dX = dY W^T and
 * dW = X^T dY). Outputs are preallocated, so only the GEMM (and, for layouts the kernels do not
 * take directly, their operand repacking) is timed: CUDA events, median over the repetitions.
 * fp8 problems use the layout fp8 GEMMs are fed in (A [m, k], B stored [n, k]).
 *
 * <p>Prints one JSON object per measurement: bench, impl, dtype, m, n, k, ta, tb, median_ms,
 * tflops (the peer is bench/torch/own_gemm_peer.py). Usage: {@code OwnGemmBench [--reps N>=20] [--sweep]}.
 *
 * <p>{@code --sweep} (compute capability 9.0) instead times every cp.async wgmma kernel variant
 * ({@link WgmmaTuning#VARIANTS}, plus "auto", their plan), every TMA variant (tma_&lt;variant&gt;,
 * {@link WgmmaTuning#TMA_VARIANTS}) and "default" (the engine's choice) for bf16 (A [m, k], B [k, n])
 * and fp8 E4M3 (A [m, k], B stored [n, k]), bf16 output, on 4096^3, 8192^3 and 51200 x 640 x 128.
 * Each variant's result is first compared with mma.sync's on the same inputs (max |x - ref| /
 * max |ref|); one above {@link #SWEEP_TOLERANCE} (or with NaN, e.g. tiles left unwritten) is
 * reported WRONG and not timed. One JSON line per variant: bench gemm_sweep, dtype, m, n, k,
 * variant, median_ms, tflops, max_rel_diff, status; then a gemm_sweep_best line per problem.
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
        boolean sweep = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Math.max(20, Integer.parseInt(args[++i]));
            else if (args[i].equals("--sweep")) sweep = true;
            else {
                System.err.println("usage: OwnGemmBench [--reps N>=20] [--sweep]");
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
        if (sweep) {
            if (cuda.computeCapability() != 90) {
                System.err.println("OwnGemmBench --sweep: the wgmma variants need compute capability 9.0, got " + cuda.computeCapability());
                System.exit(1);
            }
            sweep(cuda, reps);
            return;
        }
        for (Problem p : PROBLEMS) {
            for (String kernel : cuda.computeCapability() == 90 ? List.of("mma", "wgmma", "tma") : List.of("mma")) {
                System.setProperty(CudaGemm.BF16_PROPERTY, kernel);
                bf16(cuda, "own", "own_" + kernel, p, reps);
            }
            if (cuda.gemm().cublasReady()) bf16(cuda, "cublas", "cublas", p, reps);
            if (cuda.computeCapability() >= 89) {
                Problem tn = new Problem(p.name, p.m, p.n, p.k, false, true);
                for (String kernel : cuda.computeCapability() == 90 ? List.of("mma", "wgmma", "tma") : List.of("mma")) fp8(cuda, kernel, tn, reps);
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

    /** Largest max |x - ref| / max |ref| a variant may show against mma.sync (both round to bf16: 2^-8 per element). */
    static final double SWEEP_TOLERANCE = 1e-2;

    private static final List<Problem> SWEEP_PROBLEMS = List.of(
            new Problem("square", 4096, 4096, 4096, false, false),
            new Problem("square", 8192, 8192, 8192, false, false),
            new Problem("linear1_fwd", 51200, 640, 128, false, false));

    private static void sweep(CudaBackend cuda, int reps) {
        Device gpu = cuda.device();
        Backend backend = Engine.backend(gpu);
        System.setProperty(CudaGemm.PROPERTY, "own");
        try {
            for (String dtype : List.of("bf16", "e4m3")) {
                boolean fp8 = dtype.equals("e4m3");
                String kernelProperty = fp8 ? CudaGemm.FP8_PROPERTY : CudaGemm.BF16_PROPERTY;
                for (Problem p0 : SWEEP_PROBLEMS) {
                    Problem p = fp8 ? new Problem(p0.name, p0.m, p0.n, p0.k, false, true) : p0;
                    try (Tensor a16 = stored(gpu, DType.BF16, 5, p.m, p.k, p.ta); Tensor b16 = stored(gpu, DType.BF16, 6, p.k, p.n, p.tb);
                         Tensor a = fp8 ? a16.to(DType.F8E4M3) : a16.contiguous(); Tensor b = fp8 ? b16.to(DType.F8E4M3) : b16.contiguous();
                         Tensor scaleA = Tensor.full(gpu, DType.F32, 0.5, 1); Tensor scaleB = Tensor.full(gpu, DType.F32, 2, 1)) {
                        java.util.function.Consumer<Tensor> run = out -> {
                            if (fp8) backend.matmulScaled(a, p.ta, b, p.tb, scaleA, scaleB, out);
                            else backend.matmul(a, p.ta, b, p.tb, out);
                        };
                        System.setProperty(kernelProperty, "mma");
                        float[] ref;
                        try (Tensor out = Tensor.empty(gpu, DType.BF16, 1, p.m, p.n)) {
                            run.accept(out);
                            ref = out.toFloatArray();
                            double ms = DeviceTimer.medianMs(cuda, 3, reps, () -> run.accept(out));
                            emitSweep(p, dtype, "mma", ms, 0, "ok");
                        }
                        double refMax = 0;
                        for (float v : ref) refMax = Math.max(refMax, Math.abs(v));
                        String best = "mma";
                        double bestMs = Double.MAX_VALUE;
                        for (Candidate candidate : candidates()) {
                            String name = candidate.name();
                            System.setProperty(kernelProperty, candidate.kernel());
                            WgmmaTuning.use(candidate.setting());
                            WgmmaTuning.useTma(candidate.tma());
                            try (Tensor out = Tensor.full(gpu, DType.BF16, Double.NaN, 1, p.m, p.n)) {
                                run.accept(out);
                                float[] got = out.toFloatArray();
                                double diff = 0;
                                for (int i = 0; i < got.length; i++) {
                                    double d = Math.abs((double) got[i] - ref[i]);
                                    diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
                                    if (Double.isInfinite(diff)) break;
                                }
                                double rel = refMax == 0 ? diff : diff / refMax;
                                if (!(rel <= SWEEP_TOLERANCE)) {
                                    emitSweep(p, dtype, name, Double.NaN, rel, "WRONG");
                                    continue;
                                }
                                double ms = DeviceTimer.medianMs(cuda, 3, reps, () -> run.accept(out));
                                emitSweep(p, dtype, name, ms, rel, "ok");
                                if (candidate.fixed() && ms < bestMs) {
                                    bestMs = ms;
                                    best = name;
                                }
                            } catch (RuntimeException e) {
                                System.err.println("OwnGemmBench --sweep: " + dtype + " " + p + " " + name + " failed: " + e);
                                emitSweep(p, dtype, name, Double.NaN, Double.NaN, "FAILED");
                            }
                        }
                        System.out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"gemm_sweep_best\",\"dtype\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"variant\":\"%s\",\"median_ms\":%.6f}",
                                dtype, p.m, p.n, p.k, best, bestMs == Double.MAX_VALUE ? Double.NaN : bestMs));
                        System.out.flush();
                    } finally {
                        WgmmaTuning.reset();
                    }
                }
            }
        } finally {
            System.clearProperty(CudaGemm.PROPERTY);
            System.clearProperty(CudaGemm.FP8_PROPERTY);
            System.clearProperty(CudaGemm.BF16_PROPERTY);
        }
    }

    /**
     * One sweep entry: the kernel property value, the wgmma setting and TMA variant to force;
     * fixed: a single kernel variant (eligible as the best), not an automatic choice.
     */
    private record Candidate(String name, String kernel, WgmmaTuning.Setting setting, WgmmaTuning.TmaVariant tma, boolean fixed) {}

    /**
     * "default": what the engine does with no property set (TMA where OwnTensorCoreGemm#tmaRoute
     * takes the shape, else the cp.async wgmma plan); "auto": the cp.async wgmma kernel with its
     * plan; each cp.async wgmma variant by name; each TMA variant as tma_&lt;variant&gt;.
     */
    private static List<Candidate> candidates() {
        List<Candidate> all = new java.util.ArrayList<>();
        all.add(new Candidate("default", "auto", WgmmaTuning.Setting.AUTO, null, false));
        all.add(new Candidate("auto", "wgmma", WgmmaTuning.Setting.AUTO, null, false));
        for (WgmmaTuning.Variant v : WgmmaTuning.VARIANTS) all.add(new Candidate(v.suffix(), "wgmma", WgmmaTuning.Setting.of(v, 0), null, true));
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            all.add(new Candidate("tma_" + v.suffix(), "tma", WgmmaTuning.Setting.AUTO, v, true));
        }
        return all;
    }

    private static void emitSweep(Problem p, String dtype, String variant, double ms, double rel, String status) {
        double tflops = 2.0 * p.m * (double) p.n * p.k / (ms * 1e-3) / 1e12;
        System.out.println(String.format(Locale.ROOT,
                "{\"bench\":\"gemm_sweep\",\"dtype\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"variant\":\"%s\",\"median_ms\":%s,\"tflops\":%s,\"max_rel_diff\":%s,\"status\":\"%s\"}",
                dtype, p.m, p.n, p.k, variant, json(ms, 6), json(tflops, 3), json(rel, 8), status));
        System.out.flush();
    }

    /** A JSON number, or null for NaN / infinity. */
    private static String json(double v, int digits) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + digits + "f", v) : "null";
    }

    private static void emit(Problem p, String impl, String dtype, double ms) {
        double tflops = 2.0 * p.m * (double) p.n * p.k / (ms * 1e-3) / 1e12;
        System.out.println(String.format(Locale.ROOT,
                "{\"bench\":\"gemm_%s\",\"impl\":\"%s\",\"dtype\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"ta\":%b,\"tb\":%b,\"median_ms\":%.6f,\"tflops\":%.3f}",
                p.name, impl, dtype, p.m, p.n, p.k, p.ta, p.tb, ms, tflops));
        System.out.flush();
    }
}
