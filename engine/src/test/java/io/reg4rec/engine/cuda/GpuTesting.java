package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Helpers for CPU-vs-CUDA comparisons: random host tensors and tolerant comparisons. */
final class GpuTesting {
    static final Device GPU = Device.cuda(0);
    static final int[] ODD_SIZES = {1, 7, 33, 1000, 4097};

    private GpuTesting() {}

    static void assumeGpu() {
        assumeTrue(Engine.cudaAvailable(), () -> "CUDA unavailable: " + CudaBackend.unavailableReason());
    }

    /** Uniform values in [lo, hi) as a CPU tensor of dtype (converted on the CPU from fp32). */
    static Tensor cpuRandom(DType dtype, long seed, double lo, double hi, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = (int) io.reg4rec.engine.Shapes.numel(shape);
        if (dtype == DType.I32) {
            int[] v = new int[n];
            for (int i = 0; i < n; i++) v[i] = (int) Math.floor(lo + (hi - lo) * r.nextDouble());
            return Tensor.fromHost(Device.CPU, dtype, v, shape);
        }
        if (dtype == DType.I64) {
            long[] v = new long[n];
            for (int i = 0; i < n; i++) v[i] = (long) Math.floor(lo + (hi - lo) * r.nextDouble());
            return Tensor.fromHost(Device.CPU, dtype, v, shape);
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        try (Tensor f = Tensor.of(Device.CPU, v, shape)) {
            return dtype == DType.F32 ? f.to(Device.CPU) : f.to(dtype);
        }
    }

    /** Nonzero values: magnitudes in [lo, hi) with random signs. */
    static Tensor cpuNonZero(DType dtype, long seed, double lo, double hi, int... shape) {
        try (Tensor mag = cpuRandom(dtype, seed, lo, hi, shape); Tensor sign = cpuRandom(dtype, seed + 1, 0, 2, shape);
             Tensor s = sign.dtype().isFloating() ? floorSign(sign) : intSign(sign)) {
            return mag.mul(s);
        }
    }

    private static Tensor floorSign(Tensor u) {
        float[] v = u.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] < 1 ? -1 : 1;
        try (Tensor f = Tensor.of(Device.CPU, v, u.shape())) {
            return f.to(u.dtype());
        }
    }

    private static Tensor intSign(Tensor u) {
        long[] v = u.toLongArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] < 1 ? -1 : 1;
        try (Tensor f = Tensor.of(Device.CPU, v, u.shape())) {
            return f.to(u.dtype());
        }
    }

    /** Relative tolerance with a floor, per dtype, for elementwise results. */
    static double elementwiseRel(DType t) {
        return switch (t) {
            case F32 -> 1e-6;
            case BF16 -> 1.0 / 128;      // one bf16 ulp when fp32 results straddle a rounding boundary
            case F8E4M3 -> 1.0 / 8 + 1e-6;
            case F8E5M2 -> 1.0 / 4 + 1e-6;
            default -> 0;
        };
    }

    static void assertClose(String what, float[] expected, float[] actual, double rel, double abs) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + ", expected " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a)) {
                if (Float.isNaN(e) != Float.isNaN(a)) fail(what + ": element " + i + " is " + a + ", expected " + e);
                continue;
            }
            if (e == a) continue;
            if (Math.abs((double) e - a) > abs + rel * Math.abs(e)) {
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (|diff| " + Math.abs((double) e - a)
                        + " > " + abs + " + " + rel + " * |expected|)");
            }
        }
    }

    static void assertExact(String what, long[] expected, long[] actual) {
        if (!Arrays.equals(expected, actual)) {
            for (int i = 0; i < Math.min(expected.length, actual.length); i++) {
                if (expected[i] != actual[i]) fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
    }

    /** ||a - e|| / max(||e||, tiny) over all elements. */
    static double relativeFrobenius(float[] expected, float[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) expected[i] - actual[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
    }
}
