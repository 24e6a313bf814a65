package io.reg4rec.bench.gpu;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.UnaryOp;
import io.reg4rec.engine.cuda.CachingAllocator;
import io.reg4rec.engine.cuda.CudaBackend;
import io.reg4rec.engine.cuda.CudaGemm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;


/**
 * GPU micro-benchmarks of the engine's CUDA backend, plain Java (no JMH): device time of GEMMs
 * through Tensor.matmul measured with CUDA events around each call after warm-up (median over
 * the repetitions), host-side cost of a tiny kernel launch, and the allocator's round trip.
 * Prints one JSON object per measurement on stdout, then a table.
 *
 * <p>Usage: {@code GpuBench [--sizes 1024,2048,4096,8192] [--reps 20] [--impl cublas,own]}; impl
 * names are values of {@code -Dreg4rec.gemm} (cublas, own, own-simt).
 */
public final class GpuBench {
    private record Result(String bench, String impl, String dtype, int m, int n, int k, double medianMs, Double tflops, Double us) {
        String json() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "{\"bench\":\"%s\",\"impl\":\"%s\",\"dtype\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"median_ms\":%.6f",
                    bench, impl, dtype, m, n, k, medianMs));
            if (tflops != null) b.append(String.format(Locale.ROOT, ",\"tflops\":%.3f", tflops));
            if (us != null) b.append(String.format(Locale.ROOT, ",\"us\":%.3f", us));
            return b.append('}').toString();
        }
    }

    private final List<Result> results = new ArrayList<>();
    private final CudaBackend cuda;
    private final int reps;

    private GpuBench(CudaBackend cuda, int reps) {
        this.cuda = cuda;
        this.reps = reps;
    }

    public static void main(String[] args) {
        int[] sizes = {1024, 2048, 4096, 8192};
        int reps = 20;
        List<String> impls = List.of("cublas", "own");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--reps" -> reps = Math.max(20, Integer.parseInt(args[++i]));
                case "--impl" -> impls = List.of(args[++i].split(","));
                default -> {
                    System.err.println("usage: GpuBench [--sizes 1024,2048,4096,8192] [--reps N>=20] [--impl cublas,own]");
                    System.exit(2);
                }
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("GpuBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        System.err.println("GpuBench on " + cuda + (cuda.gemm().cublasReady() ? ", cuBLAS " + cuda.gemm().cublasVersion()
                : ", cuBLAS unavailable: " + cuda.gemm().cublasProblem()));
        GpuBench bench = new GpuBench(cuda, reps);
        long t0 = System.nanoTime();
        bench.launchOverhead();
        bench.allocatorRoundTrip();
        for (String impl : impls) {
            if (impl.equals("cublas") && !cuda.gemm().cublasReady()) {
                System.err.println("skipping cublas GEMMs: " + cuda.gemm().cublasProblem());
                continue;
            }
            for (DType t : new DType[]{DType.F32, DType.BF16}) {
                for (int s : sizes) bench.gemm(impl, t, s);
            }
        }
        System.clearProperty(CudaGemm.PROPERTY);
        bench.table();
        System.err.printf(Locale.ROOT, "total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private void emit(Result r) {
        results.add(r);
        System.out.println(r.json());
        System.out.flush();
    }

    /** Device milliseconds of one matmul, measured with events on the backend's stream. */
    private void gemm(String impl, DType dtype, int size) {
        System.setProperty(CudaGemm.PROPERTY, impl);
        Device gpu = cuda.device();
        try (Tensor a = Tensor.randn(gpu, dtype, 1, size, size); Tensor b = Tensor.randn(gpu, dtype, 2, size, size)) {
            double med = DeviceTimer.medianMs(cuda, 3, reps, () -> a.matmul(b).close());
            double tflops = 2.0 * size * (double) size * size / (med * 1e-3) / 1e12;
            emit(new Result("gemm", impl, dtype.name(), size, size, size, med, tflops, null));
        }
    }

    /** Host microseconds per tiny launch: many launches, one synchronisation, median of batches. */
    private void launchOverhead() {
        Device gpu = cuda.device();
        Backend backend = Engine.backend(gpu);
        final int perBatch = 2000;
        try (Tensor x = Tensor.ones(gpu, DType.F32, 1); Tensor out = Tensor.empty(gpu, DType.F32, 1)) {
            for (int i = 0; i < 5000; i++) backend.unary(UnaryOp.NEG, x, out);
            cuda.synchronize();
            double[] us = new double[reps];
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < perBatch; i++) backend.unary(UnaryOp.NEG, x, out);
                cuda.synchronize();
                us[r] = (System.nanoTime() - t0) / 1e3 / perBatch;
            }
            double med = DeviceTimer.median(us);
            emit(new Result("launch_overhead", "backend_unary", "F32", 1, 1, 1, med / 1e3, null, med));
            for (int i = 0; i < 5000; i++) x.neg().close();
            cuda.synchronize();
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < perBatch; i++) x.neg().close();
                cuda.synchronize();
                us[r] = (System.nanoTime() - t0) / 1e3 / perBatch;
            }
            med = DeviceTimer.median(us);
            emit(new Result("launch_overhead", "tensor_op_with_alloc", "F32", 1, 1, 1, med / 1e3, null, med));
        }
    }

    /** Host microseconds for allocate + free of a cached 1 MiB block. */
    private void allocatorRoundTrip() {
        Device gpu = cuda.device();
        CachingAllocator allocator = cuda.allocator();
        final int perBatch = 10000;
        allocator.release(allocator.allocate(1 << 20));
        double[] us = new double[reps];
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < perBatch; i++) allocator.release(allocator.allocate(1 << 20));
            us[r] = (System.nanoTime() - t0) / 1e3 / perBatch;
        }
        double med = DeviceTimer.median(us);
        emit(new Result("alloc_roundtrip", "caching_allocator", "bytes", 1 << 20, 1, 1, med / 1e3, null, med));
        Tensor.empty(gpu, DType.F32, 1 << 18).close();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < perBatch; i++) Tensor.empty(gpu, DType.F32, 1 << 18).close();
            us[r] = (System.nanoTime() - t0) / 1e3 / perBatch;
        }
        med = DeviceTimer.median(us);
        emit(new Result("alloc_roundtrip", "tensor_empty_close", "F32", 1 << 18, 1, 1, med / 1e3, null, med));
    }

    private void table() {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-16s %-22s %-6s %6s %6s %6s %12s %10s %10s%n", "bench", "impl", "dtype", "m", "n", "k", "median_ms", "TFLOP/s", "us");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-16s %-22s %-6s %6d %6d %6d %12.4f %10s %10s%n", r.bench, r.impl, r.dtype, r.m, r.n, r.k, r.medianMs,
                    r.tflops == null ? "" : String.format(Locale.ROOT, "%.2f", r.tflops),
                    r.us == null ? "" : String.format(Locale.ROOT, "%.3f", r.us));
        }
    }
}
