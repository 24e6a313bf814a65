package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * AdamW.step(lr, maxNorm) (norm and clip on the device, inside the fused update) against
 * GradClip.clipGlobalNorm followed by step(lr). The two differ only in how the clip factor is
 * rounded (fp32 in the kernel, double then fp32 in GradClip) and in GradClip skipping the
 * multiply when the factor is 1, so parameters and moments agree to fp32 rounding: relative
 * 1e-5 (abs 1e-7); the returned norm agrees to relative 1e-6.
 */
class AdamWClipTest {
    /** w [3, 5] and b [7] take gradients; u [4] (when present) never does. */
    private static Map<String, Variable> parameters(boolean withUnused) {
        SplittableRandom r = new SplittableRandom(42);
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("w", Variable.parameter(randn(r, 3, 5), "w"));
        params.put("b", Variable.parameter(randn(r, 7), "b"));
        if (withUnused) params.put("u", Variable.parameter(randn(r, 4), "u"));
        return params;
    }

    private static Tensor randn(SplittableRandom r, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(Device.CPU, v, shape);
    }

    /** Sets the gradients of w and b to scale times fixed pseudo-random values (loss = sum(p * c)). */
    private static void setGradients(Map<String, Variable> params, int step, double scale) {
        SplittableRandom r = new SplittableRandom(1000 + step);
        try (Scope s = Scope.open()) {
            Variable loss = null;
            for (String name : List.of("w", "b")) {
                Variable p = params.get(name);
                p.zeroGrad();
                Tensor c = randn(r, p.shape()).mul(scale);
                Variable term = p.mul(Variable.constant(c)).sumAll();
                loss = loss == null ? term : loss.add(term);
            }
            loss.backward();
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-7 + 1e-5 * Math.abs(expected[i]), what + "[" + i + "]");
        }
    }

    private static void compare(boolean withUnused, double gradScale, double maxNorm) {
        Map<String, Variable> clipped = parameters(withUnused), reference = parameters(withUnused);
        AdamW.Options options = new AdamW.Options(0.9, 0.99, 1e-8, 0.1, false);
        String what = "grad scale " + gradScale + ", maxNorm " + maxNorm + (withUnused ? ", a parameter without gradient" : "");
        try (AdamW a = new AdamW(clipped, options); AdamW b = new AdamW(reference, options)) {
            for (int step = 0; step < 4; step++) {
                double lr = 0.01 * (step + 1);
                setGradients(clipped, step, gradScale);
                setGradients(reference, step, gradScale);
                float[] gradientBefore = clipped.get("w").grad().toFloatArray();
                double expectedNorm = GradClip.clipGlobalNorm(reference.values(), maxNorm);
                b.step(lr);
                try (Tensor norm = a.step(lr, maxNorm)) {
                    assertArrayEquals(new int[]{1}, norm.shape());
                    assertEquals(DType.F32, norm.dtype());
                    assertEquals(expectedNorm, norm.item(), 1e-6 * expectedNorm + 1e-30, what + ": norm at step " + step);
                }
                assertArrayEquals(gradientBefore, clipped.get("w").grad().toFloatArray(), what + ": the gradient is left unchanged");
            }
            assertEquals(4, a.steps());
            for (String name : clipped.keySet()) {
                assertClose(what + ": " + name, reference.get(name).data().toFloatArray(), clipped.get(name).data().toFloatArray());
            }
            Map<String, Tensor> sa = a.state(), sb = b.state();
            try {
                for (String key : sb.keySet()) assertClose(what + ": " + key, sb.get(key).toFloatArray(), sa.get(key).toFloatArray());
            } finally {
                sa.values().forEach(Tensor::close);
                sb.values().forEach(Tensor::close);
            }
        } finally {
            clipped.values().forEach(Variable::close);
            reference.values().forEach(Variable::close);
        }
    }

    @Test
    void clippedStepEqualsGradClipThenStepAboveTheLimit() {
        compare(false, 5, 1.0);      // norm about 10: clipped every step
        compare(false, 1, 0.3);
    }

    @Test
    void clippedStepEqualsThePlainStepBelowTheLimit() {
        compare(false, 0.01, 1.0);   // norm about 0.02: c = 1
    }

    @Test
    void zeroGradientsGiveAZeroNormAndTheDecayOnlyUpdate() {
        compare(false, 0, 1.0);
    }

    @Test
    void parametersWithoutGradientsAreSkippedAndLeftOutOfTheNorm() {
        compare(true, 5, 1.0);
        compare(true, 0.01, 1.0);
    }

    @Test
    void theNormCoversAllGroupsAndIsOwnedByTheCaller() {
        Map<String, Variable> params = parameters(false);
        try (AdamW adam = new AdamW(params, AdamW.Options.defaults())) {
            setGradients(params, 0, 2);
            double expected = 0;
            for (Variable p : params.values()) for (float g : p.grad().toFloatArray()) expected += (double) g * g;
            Tensor norm;
            try (Scope s = Scope.open()) {
                norm = adam.step(1e-3, 1.0);
            }
            try {
                assertFalse(norm.isClosed(), "no scope closes the returned norm");
                assertEquals(Math.sqrt(expected), norm.item(), 1e-6 * Math.sqrt(expected));
            } finally {
                norm.close();
            }
        } finally {
            params.values().forEach(Variable::close);
        }
    }

    @Test
    void aBadLimitIsRejectedBeforeAnythingChanges() {
        Map<String, Variable> params = parameters(false);
        try (AdamW adam = new AdamW(params, AdamW.Options.defaults())) {
            setGradients(params, 0, 1);
            for (double bad : new double[]{0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> adam.step(1e-3, bad));
                assertTrue(e.getMessage().contains("maxNorm"), e.getMessage());
            }
            assertEquals(0, adam.steps());
        } finally {
            params.values().forEach(Variable::close);
        }
    }
}
