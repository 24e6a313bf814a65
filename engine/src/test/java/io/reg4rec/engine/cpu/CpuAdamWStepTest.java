package io.reg4rec.engine.cpu;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/** The fused CPU AdamW step against the chain of elementwise ops it replaces. */
class CpuAdamWStepTest {
    private static Tensor random(long seed, double lo, double hi, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return Tensor.of(Device.CPU, v, n);
    }

    /** |a - e| <= rel |e| + rel * rms(e): relative per element, with a floor for values that cancelled to near zero. */
    private static void assertClose(String what, float[] expected, float[] actual, double rel) {
        double sq = 0;
        for (float e : expected) sq += (double) e * e;
        double floor = rel * Math.sqrt(sq / Math.max(1, expected.length));
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (d > rel * Math.abs(expected[i]) + floor) fail(what + "[" + i + "] = " + actual[i] + ", expected " + expected[i]);
        }
    }

    @Test
    void fusedStepMatchesTheComposedOpsOverSeveralSteps() {
        int n = 70_001;  // above the parallel grain, odd
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        for (double wd : new double[]{0.0, 0.01}) {
            try (Scope scope = Scope.open()) {
                Tensor p = random(1, -1, 1, n), m = Tensor.zeros(Device.CPU, DType.F32, n), v = Tensor.zeros(Device.CPU, DType.F32, n);
                Tensor rp = random(1, -1, 1, n), rm = Tensor.zeros(Device.CPU, DType.F32, n), rv = Tensor.zeros(Device.CPU, DType.F32, n);
                for (int t = 1; t <= 5; t++) {
                    double lr = 1e-3 * t;
                    Tensor g = random(100 + t, -2, 2, n);
                    new AdamWHyper(lr, b1, b2, eps, wd, t).apply(p, g, m, v);
                    // the composed update (AdamW's previous implementation)
                    double c1 = 1 - Math.pow(b1, t), c2 = 1 - Math.pow(b2, t);
                    rm.copyFrom(rm.mul(b1).add(g.mul(1 - b1)));
                    rv.copyFrom(rv.mul(b2).add(g.mul(g).mul(1 - b2)));
                    Tensor step = rm.div(rv.div(c2).sqrt().add(eps)).mul(lr / c1);
                    rp.copyFrom(rp.mul(1 - lr * wd).sub(step));
                }
                assertClose("m (wd " + wd + ")", rm.toFloatArray(), m.toFloatArray(), 1e-6);
                assertClose("v (wd " + wd + ")", rv.toFloatArray(), v.toFloatArray(), 1e-6);
                assertClose("p (wd " + wd + ")", rp.toFloatArray(), p.toFloatArray(), 1e-6);
            }
        }
    }

    @Test
    void oneElementByHand() {
        try (Scope scope = Scope.open()) {
            Tensor p = Tensor.of(Device.CPU, new float[]{2f}, 1), g = Tensor.of(Device.CPU, new float[]{0.5f}, 1);
            Tensor m = Tensor.zeros(Device.CPU, DType.F32, 1), v = Tensor.zeros(Device.CPU, DType.F32, 1);
            new AdamWHyper(0.1, 0.9, 0.99, 1e-8, 0.5, 1).apply(p, g, m, v);
            // m = 0.05, v = 0.0025, m^ = 0.5, v^ = 0.25: p = 2 (1 - 0.05) - 0.1 * 0.5 / (0.5 + 1e-8)
            assertEquals(0.05, m.toFloatArray()[0], 1e-8);
            assertEquals(0.0025, v.toFloatArray()[0], 1e-9);
            assertEquals(2 * 0.95 - 0.1 * 0.5 / (0.5 + 1e-8), p.toFloatArray()[0], 1e-6);
        }
    }

    @Test
    void rejectsMismatchedOrStridedOperands() {
        try (Scope scope = Scope.open()) {
            AdamWHyper h = new AdamWHyper(1e-3, 0.9, 0.999, 1e-8, 0, 1);
            Tensor a = Tensor.zeros(Device.CPU, DType.F32, 4, 4), b = Tensor.zeros(Device.CPU, DType.F32, 4, 4);
            assertThrows(IllegalArgumentException.class, () -> h.apply(a, b, b, Tensor.zeros(Device.CPU, DType.F32, 16)));
            assertThrows(IllegalArgumentException.class, () -> h.apply(a, b, b, a.transpose(0, 1)));
            assertThrows(IllegalArgumentException.class, () -> h.apply(a, b, b, Tensor.zeros(Device.CPU, DType.BF16, 4, 4)));
            assertThrows(IllegalArgumentException.class, () -> new AdamWHyper(1e-3, 0.9, 0.999, 1e-8, 0, 0));
        }
    }
}
