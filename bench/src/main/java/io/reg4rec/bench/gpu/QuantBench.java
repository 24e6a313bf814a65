package io.reg4rec.bench.gpu;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.CudaBackend;
import io.reg4rec.engine.cuda.CudaStorage;

import java.util.Arrays;
import java.util.Locale;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;

/**
 * Bandwidth benchmarks of the quantization, divergence and scaled-cast kernels against the
 * device's own copy bandwidth (cuMemcpyDtoD, counted as bytes read plus bytes written). Each
 * measurement prints one JSON object on stdout:
 * {@code {"bench", "impl":"engine", "dtype", "shape", "bytes", "median_ms", "gbps", "fraction_of_copy"}}
 * plus {@code "tflops"} for nearestCodeword (2 N M D dc flops: compute-bound, so its byte rate is
 * not the measure that matters). bytes = the bytes a kernel must read and write once.
 * PyTorch peer: bench/torch/quant_peer.py (same keys, "impl":"torch").
 *
 * <p>Usage: {@code QuantBench [--elements 268435456] [--reps 20]}; elements sets the size of the
 * casts, amax and JS tables (fp32 elements per input).
 */
public final class QuantBench {
    private final CudaBackend cuda;
    private final Backend backend;
    private final Device gpu = Device.cuda(0);
    private final int reps;
    private double copyGbps = Double.NaN;

    private QuantBench(CudaBackend cuda, int reps) {
        this.cuda = cuda;
        this.backend = cuda;
        this.reps = reps;
    }

    public static void main(String[] args) {
        long elements = 1L << 28;
        int reps = 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--elements" -> elements = Long.parseLong(args[++i]);
                case "--reps" -> reps = Math.max(5, Integer.parseInt(args[++i]));
                default -> {
                    System.err.println("usage: QuantBench [--elements N] [--reps N>=5]");
                    System.exit(2);
                }
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("QuantBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        System.err.println("QuantBench on " + cuda + ", " + elements + " elements");
        QuantBench b = new QuantBench(cuda, reps);
        int n = (int) Math.min(elements, Integer.MAX_VALUE - 8);
        b.copy(n);
        b.casts(n);
        b.amax(n);
        for (int cols : new int[]{8, 64, 1000}) b.js(n, cols);
        b.nearestCodeword(1 << 20, 8, 300, 64);
        b.codewordSum(1 << 20, 8, 300, 64);
        b.relaxedMatchCount(2000, 12101, 8);
    }

    private void emit(String bench, String dtype, int[] shape, long bytes, double ms, Double tflops) {
        double gbps = bytes / (ms * 1e-3) / 1e9;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "{\"bench\":\"%s\",\"impl\":\"engine\",\"dtype\":\"%s\",\"shape\":%s,\"bytes\":%d,\"median_ms\":%.6f,\"gbps\":%.2f,\"fraction_of_copy\":%.4f",
                bench, dtype, Arrays.toString(shape).replace(" ", ""), bytes, ms, gbps, gbps / copyGbps));
        if (tflops != null) s.append(String.format(Locale.ROOT, ",\"tflops\":%.3f", tflops));
        System.out.println(s.append('}'));
    }

    private double time(Runnable body) {
        return DeviceTimer.medianMs(cuda, 3, reps, body);
    }

    private void copy(int n) {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(gpu, DType.F32, n), b = Tensor.empty(gpu, DType.F32, n);
            long bytes = (long) n * Float.BYTES;
            double ms = time(() -> cuMemcpyDtoDAsync(((CudaStorage) b.storage()).pointer(), ((CudaStorage) a.storage()).pointer(), bytes, cuda.stream()));
            copyGbps = 2.0 * bytes / (ms * 1e-3) / 1e9;
            emit("copy", "f32", new int[]{n}, 2 * bytes, ms, null);
        }
    }

    private void casts(int n) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(gpu, DType.F32, 1, n), scale = Tensor.full(gpu, DType.F32, 0.75, 1);
            for (DType low : new DType[]{DType.F8E4M3, DType.BF16}) {
                Tensor y = Tensor.empty(gpu, low, n), back = Tensor.empty(gpu, DType.F32, n);
                long bytes = (long) n * (Float.BYTES + low.byteSize());
                emit("cast_scaled", "f32->" + name(low), new int[]{n}, bytes, time(() -> backend.castScaled(x, y, scale)), null);
                emit("cast_scaled", name(low) + "->f32", new int[]{n}, bytes, time(() -> backend.castScaled(y, back, scale)), null);
            }
        }
    }

    private static String name(DType t) {
        return switch (t) {
            case F8E4M3 -> "e4m3";
            case F8E5M2 -> "e5m2";
            case BF16 -> "bf16";
            default -> t.name().toLowerCase(Locale.ROOT);
        };
    }

    private void amax(int n) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(gpu, DType.F32, 2, n), out = Tensor.empty(gpu, DType.F32, 1);
            emit("amax", "f32", new int[]{n}, (long) n * Float.BYTES, time(() -> backend.amax(x, out)), null);
            Tensor x8 = x.to(DType.F8E4M3);
            emit("amax", "e4m3", new int[]{n}, n, time(() -> backend.amax(x8, out)), null);
        }
    }

    private void js(int n, int cols) {
        int rows = n / cols;
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.rand(gpu, DType.F32, 3, rows, cols), q = Tensor.rand(gpu, DType.F32, 4, rows, cols);
            Tensor out = Tensor.empty(gpu, DType.F32, rows);
            long bytes = 2L * rows * cols * Float.BYTES + (long) rows * Float.BYTES;
            emit("js_divergence", "f32", new int[]{rows, cols}, bytes, time(() -> backend.jsDivergence(p, q, out)), null);
            Tensor g = Tensor.ones(gpu, DType.F32, rows), gp = Tensor.empty(gpu, DType.F32, rows, cols), gq = Tensor.empty(gpu, DType.F32, rows, cols);
            emit("js_divergence_backward", "f32", new int[]{rows, cols}, 2 * bytes, time(() -> backend.jsDivergenceBackward(p, q, g, gp, gq)), null);
        }
    }

    private void nearestCodeword(int n, int m, int d, int dc) {
        try (Scope s = Scope.open()) {
            Tensor z = Tensor.randn(gpu, DType.F32, 5, n, m, dc), c = Tensor.randn(gpu, DType.F32, 6, m, d, dc);
            Tensor idx = Tensor.empty(gpu, DType.I32, n, m), dist = Tensor.empty(gpu, DType.F32, n, m);
            long bytes = (long) n * m * dc * Float.BYTES + (long) m * d * dc * Float.BYTES + (long) n * m * 8;
            double ms = time(() -> backend.nearestCodeword(z, c, idx, dist));
            double flops = 2.0 * n * m * d * dc;
            emit("nearest_codeword", "f32", new int[]{n, m, d, dc}, bytes, ms, flops / (ms * 1e-3) / 1e12);
        }
    }

    private void codewordSum(int n, int m, int d, int dc) {
        try (Scope s = Scope.open()) {
            Tensor c = Tensor.randn(gpu, DType.F32, 7, m, d, dc), gates = Tensor.rand(gpu, DType.F32, 8, n, m);
            int[] host = new int[n * m];
            java.util.SplittableRandom r = new java.util.SplittableRandom(9);
            for (int i = 0; i < host.length; i++) host[i] = r.nextInt(d);
            Tensor idx = Tensor.of(gpu, host, n, m), out = Tensor.empty(gpu, DType.F32, n, dc);
            long bytes = (long) n * m * 8 + (long) n * dc * Float.BYTES;
            emit("codeword_sum", "f32", new int[]{n, m, d, dc}, bytes, time(() -> backend.codewordSum(c, idx, gates, out)), null);
            Tensor go = Tensor.randn(gpu, DType.F32, 10, n, dc), gc = Tensor.zeros(gpu, DType.F32, m, d, dc), gg = Tensor.empty(gpu, DType.F32, n, m);
            long backBytes = (long) n * m * 12 + (long) n * dc * Float.BYTES;
            emit("codeword_sum_backward", "f32", new int[]{n, m, d, dc}, backBytes, time(() -> backend.codewordSumBackward(c, idx, gates, go, gc, gg)), null);
        }
    }

    private void relaxedMatchCount(int p, int n, int m) {
        try (Scope s = Scope.open()) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(11);
            int[] paths = new int[p * m], items = new int[n * m];
            for (int i = 0; i < paths.length; i++) paths[i] = r.nextInt(300);
            for (int i = 0; i < items.length; i++) items[i] = r.nextInt(300);
            Tensor pt = Tensor.of(gpu, paths, p, m), it = Tensor.of(gpu, items, n, m), counts = Tensor.empty(gpu, DType.I32, p, n);
            long bytes = (long) p * n * Integer.BYTES + (long) (p + n) * m * Integer.BYTES;
            emit("relaxed_match_count", "i32", new int[]{p, n, m}, bytes, time(() -> backend.relaxedMatchCount(pt, it, counts)), null);
        }
    }
}
