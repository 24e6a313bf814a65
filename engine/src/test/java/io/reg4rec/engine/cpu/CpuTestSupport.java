package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;

import java.util.SplittableRandom;

/** Helpers for the CPU backend tests: random tensors and decoding to doubles by plain loops. */
final class CpuTestSupport {
    private CpuTestSupport() {}

    static final Device CPU = Device.CPU;

    /** Random values in [lo, hi) (integers: whole numbers in that range) as a new tensor. */
    static Tensor random(DType dtype, long seed, double lo, double hi, int... shape) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = (int) Shapes.numel(shape);
        Object host = dtype.newHostArray(n);
        for (int i = 0; i < n; i++) {
            double v = lo + (hi - lo) * rnd.nextDouble();
            switch (dtype) {
                case F64 -> ((double[]) host)[i] = v;
                case F32 -> ((float[]) host)[i] = (float) v;
                case BF16 -> ((short[]) host)[i] = Bf16.fromFloat((float) v);
                case F8E4M3 -> ((byte[]) host)[i] = Fp8.e4m3FromFloat((float) v);
                case F8E5M2 -> ((byte[]) host)[i] = Fp8.e5m2FromFloat((float) v);
                case I32 -> ((int[]) host)[i] = (int) Math.floor(v);
                case I64 -> ((long[]) host)[i] = (long) Math.floor(v);
            }
        }
        return Tensor.fromHost(CPU, dtype, host, shape);
    }

    /** All values of a tensor (any layout) as doubles, row-major. */
    static double[] values(Tensor t) {
        Object h = t.toHost();
        int n = java.lang.reflect.Array.getLength(h);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (t.dtype()) {
                case F64 -> ((double[]) h)[i];
                case F32 -> ((float[]) h)[i];
                case BF16 -> Bf16.toFloat(((short[]) h)[i]);
                case F8E4M3 -> Fp8.e4m3ToFloat(((byte[]) h)[i]);
                case F8E5M2 -> Fp8.e5m2ToFloat(((byte[]) h)[i]);
                case I32 -> ((int[]) h)[i];
                case I64 -> ((long[]) h)[i];
            };
        }
        return out;
    }

    /** A result computed exactly, as the backend must store it: through fp32 for the narrow floats. */
    static double rounded(DType dtype, double v) {
        return switch (dtype) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> Bf16.toFloat(Bf16.fromFloat((float) v));
            case F8E4M3 -> Fp8.e4m3ToFloat(Fp8.e4m3FromFloat((float) v));
            case F8E5M2 -> Fp8.e5m2ToFloat(Fp8.e5m2FromFloat((float) v));
            case I32 -> (int) (long) v;
            case I64 -> (long) v;
        };
    }

    /** Row-major linear index to coordinates. */
    static int[] coords(int[] shape, long linear) {
        int[] c = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            c[d] = (int) (linear % shape[d]);
            linear /= shape[d];
        }
        return c;
    }

    static long linear(int[] shape, int[] c) {
        long l = 0;
        for (int d = 0; d < shape.length; d++) l = l * shape[d] + c[d];
        return l;
    }

    /** Asserts equality treating NaN == NaN and -0 == +0. */
    static void assertSame(double expected, double actual, String what) {
        if (Double.isNaN(expected) && Double.isNaN(actual)) return;
        if (expected != actual) throw new AssertionError(what + ": expected " + expected + " but was " + actual);
    }
}
