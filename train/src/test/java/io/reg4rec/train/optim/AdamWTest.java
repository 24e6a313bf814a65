package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class AdamWTest {
    /** The AdamW update of one scalar, in doubles. */
    private static final class ScalarAdamW {
        double p, m, v;
        int t;

        ScalarAdamW(double p) { this.p = p; }

        void step(double g, double lr, double b1, double b2, double eps, double wd) {
            t++;
            p *= 1 - lr * wd;
            m = b1 * m + (1 - b1) * g;
            v = b2 * v + (1 - b2) * g * g;
            p -= lr * (m / (1 - Math.pow(b1, t))) / (Math.sqrt(v / (1 - Math.pow(b2, t))) + eps);
        }
    }

    @Test
    void matchesTheReferenceUpdateWithDecoupledDecayOnMatricesOnly() {
        float[] w0 = {0.5f, -1.0f, 2.0f, 0.25f};
        float[] b0 = {0.1f, -0.3f};
        Variable w = Variable.parameter(Tensor.of(Device.CPU, w0.clone(), 2, 2), "w");
        Variable b = Variable.parameter(Tensor.of(Device.CPU, b0.clone(), 2), "b");
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("w", w);
        params.put("b", b);
        AdamW.Options options = new AdamW.Options(0.9, 0.99, 1e-8, 0.1, false);
        ScalarAdamW[] refW = new ScalarAdamW[4], refB = new ScalarAdamW[2];
        for (int i = 0; i < 4; i++) refW[i] = new ScalarAdamW(w0[i]);
        for (int i = 0; i < 2; i++) refB[i] = new ScalarAdamW(b0[i]);
        try (AdamW adam = new AdamW(params, options)) {
            for (int step = 0; step < 4; step++) {
                double lr = 0.01 * (step + 1);
                float[] cw = new float[4], cb = new float[2];
                for (int i = 0; i < 4; i++) cw[i] = (float) Math.sin(step * 4 + i + 1);
                for (int i = 0; i < 2; i++) cb[i] = (float) Math.cos(step * 2 + i);
                try (Scope s = Scope.open()) {
                    // loss = sum(w * cw) + sum(b^2 * cb): gradients cw and 2 b cb
                    Variable loss = w.mul(Variable.constant(Tensor.of(Device.CPU, cw, 2, 2))).sumAll()
                            .add(b.square().mul(Variable.constant(Tensor.of(Device.CPU, cb, 2))).sumAll());
                    loss.backward();
                    for (int i = 0; i < 4; i++) refW[i].step(cw[i], lr, 0.9, 0.99, 1e-8, 0.1);
                    for (int i = 0; i < 2; i++) refB[i].step(2 * refB[i].p * cb[i], lr, 0.9, 0.99, 1e-8, 0.0);
                    adam.step(lr);
                    w.zeroGrad();
                    b.zeroGrad();
                }
            }
            float[] wv = w.data().toFloatArray(), bv = b.data().toFloatArray();
            for (int i = 0; i < 4; i++) assertEquals(refW[i].p, wv[i], 1e-6, "w[" + i + "]");
            for (int i = 0; i < 2; i++) assertEquals(refB[i].p, bv[i], 1e-6, "b[" + i + "]");
            assertEquals(4, adam.steps());
            assertEquals(refW[0].m, adam.state().get("exp_avg.w").toFloatArray()[0], 1e-6);
            assertEquals(refB[1].v, adam.state().get("exp_avg_sq.b").toFloatArray()[1], 1e-6);
        } finally {
            w.close();
            b.close();
        }
    }

    @Test
    void stateSurvivesStepScopesAndStepsAllocateNothingLasting() {
        Variable w = Variable.parameter(Tensor.randn(Device.CPU, DType.F32, 1, 8, 8), "w");
        try (AdamW adam = new AdamW(Map.of("w", w), AdamW.Options.defaults())) {
            long afterFirst = 0;
            for (int step = 0; step < 5; step++) {
                try (Scope s = Scope.open()) {
                    w.square().sumAll().backward();
                    adam.step(1e-2);
                    w.zeroGrad();
                }
                if (step == 0) afterFirst = Engine.backend(Device.CPU).memoryStats().inUseBytes();
            }
            assertEquals(afterFirst, Engine.backend(Device.CPU).memoryStats().inUseBytes());
            assertFalse(adam.state().get("exp_avg.w").isClosed());
        } finally {
            w.close();
        }
    }

    @Test
    void parametersWithoutGradientsAreLeftAlone() {
        Variable w = Variable.parameter(Tensor.ones(Device.CPU, DType.F32, 3), "w");
        try (AdamW adam = new AdamW(Map.of("w", w), AdamW.Options.defaults().withWeightDecay(0.5))) {
            adam.step(0.1);
            assertArrayEquals(new float[]{1, 1, 1}, w.data().toFloatArray());
        } finally {
            w.close();
        }
    }

    /** Trains w (and, when both, u) for a few steps of loss sum(w^2) + sum(u^2 * flag); returns w's values. */
    private static float[] trainW(boolean withU, int steps, Map<String, Tensor> stateOut) {
        Variable w = Variable.parameter(Tensor.randn(Device.CPU, DType.F32, 3, 3, 2), "w");
        Variable u = Variable.parameter(Tensor.randn(Device.CPU, DType.F32, 4, 2, 2), "u");
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("w", w);
        params.put("u", u);
        try (AdamW adam = new AdamW(params, AdamW.Options.defaults())) {
            float[] u0 = u.data().toFloatArray();
            for (int step = 0; step < steps; step++) {
                try (Scope s = Scope.open()) {
                    Variable loss = w.square().sumAll();
                    if (withU) loss = loss.add(u.square().sumAll());
                    loss.backward();
                    adam.step(0.05);
                    w.zeroGrad();
                    u.zeroGrad();
                }
            }
            if (!withU) assertArrayEquals(u0, u.data().toFloatArray(), "a parameter without gradient is not moved");
            if (stateOut != null) adam.state().forEach((k, t) -> stateOut.put(k, t.to(Device.CPU).unscoped()));
            return w.data().toFloatArray();
        } finally {
            w.close();
            u.close();
        }
    }

    @Test
    void theFlatAndThePerParameterPathsGiveTheSameUpdates() {
        float[] flat = trainW(true, 3, null);        // every parameter has a gradient: flat buffers
        float[] perParameter = trainW(false, 3, null); // u has none: per-parameter path
        assertArrayEquals(flat, perParameter);
    }

    @Test
    void stateRoundTripsIntoAFreshOptimizer() {
        Map<String, Tensor> state = new LinkedHashMap<>();
        trainW(true, 2, state);
        Variable w = Variable.parameter(Tensor.zeros(Device.CPU, DType.F32, 3, 2), "w");
        Variable u = Variable.parameter(Tensor.zeros(Device.CPU, DType.F32, 2, 2), "u");
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("w", w);
        params.put("u", u);
        try (AdamW adam = new AdamW(params, AdamW.Options.defaults())) {
            adam.loadState(state, 2);
            assertEquals(2, adam.steps());
            assertArrayEquals(state.get("exp_avg_sq.u").toFloatArray(), adam.state().get("exp_avg_sq.u").toFloatArray());
            assertArrayEquals(state.get("exp_avg.w").toFloatArray(), adam.state().get("exp_avg.w").toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> adam.loadState(Map.of(), 1));
        } finally {
            w.close();
            u.close();
            state.values().forEach(Tensor::close);
        }
    }
}
