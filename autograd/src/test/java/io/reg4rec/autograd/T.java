package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.Tensor;

/** Small F64 CPU tensors for the tests. */
final class T {
    private T() {}

    static Tensor randn(long seed, int... shape) {
        return Tensor.randn(Device.CPU, DType.F64, seed, shape);
    }

    /** Uniform in [lo, hi): for inputs that must stay away from zero or be positive. */
    static Tensor uniform(long seed, double lo, double hi, int... shape) {
        return Tensor.random(Device.CPU, DType.F64, Distribution.UNIFORM, seed, lo, hi, shape);
    }

    static Tensor of(double[] values, int... shape) {
        return Tensor.fromHost(Device.CPU, DType.F64, values, shape);
    }

    static Tensor index(long[] values, int... shape) {
        return Tensor.fromHost(Device.CPU, DType.I64, values, shape);
    }

    static double[] values(Tensor t) {
        try (Tensor d = t.to(DType.F64)) {
            return (double[]) d.toHost();
        }
    }
}
