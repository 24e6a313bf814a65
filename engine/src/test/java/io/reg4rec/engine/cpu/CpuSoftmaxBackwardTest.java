package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedSoftmax;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The fused softmax backward's CPU reference against the composed formulas, in F64 and F32. */
class CpuSoftmaxBackwardTest {
    private static Tensor random(DType dtype, long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[(int) io.reg4rec.engine.Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextDouble() * 4 - 2;
        try (Tensor t = Tensor.fromHost(Device.CPU, DType.F64, v, shape)) {
            return t.to(dtype);
        }
    }

    @Test
    void matchesTheComposedFormulas() {
        for (DType dtype : new DType[]{DType.F64, DType.F32}) {
            for (boolean log : new boolean[]{false, true}) {
                try (Scope scope = Scope.open()) {
                    Tensor x = random(dtype, 1, 3, 5, 37), g = random(dtype, 2, 3, 5, 37);
                    Tensor y = log ? x.logSoftmax(2) : x.softmax(2);
                    Tensor expected = log ? g.sub(y.exp().mul(g.sum(2, true))) : y.mul(g.sub(g.mul(y).sum(2, true)));
                    Tensor actual = FusedSoftmax.backward(y, g.transpose(0, 1).contiguous().transpose(0, 1), log);  // g as a strided view
                    double[] e = (double[]) expected.to(DType.F64).toHost(), a = (double[]) actual.to(DType.F64).toHost();
                    double tol = dtype == DType.F64 ? 1e-14 : 1e-6;
                    for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol * (1 + Math.abs(e[i])), dtype + " log " + log + " element " + i);
                }
            }
        }
    }

    @Test
    void rejectsMismatchedArguments() {
        try (Scope scope = Scope.open()) {
            Tensor y = random(DType.F32, 1, 2, 3);
            assertThrows(IllegalArgumentException.class, () -> FusedSoftmax.backward(y, random(DType.F32, 2, 3, 2), false));
            assertThrows(IllegalArgumentException.class, () -> FusedSoftmax.backward(y, random(DType.F64, 2, 2, 3), false));
        }
    }
}
