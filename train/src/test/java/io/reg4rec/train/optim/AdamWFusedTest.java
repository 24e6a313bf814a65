package io.reg4rec.train.optim;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/** AdamW's fused update against the composed chain of elementwise ops it replaced (CPU). */
class AdamWFusedTest {
    private static Map<String, Variable> params(long seed) {
        Map<String, Variable> p = new LinkedHashMap<>();
        p.put("w1", Variable.parameter(Tensor.randn(Device.CPU, DType.F32, seed, 33, 17), "w1"));
        p.put("b1", Variable.parameter(Tensor.randn(Device.CPU, DType.F32, seed + 1, 17), "b1"));
        p.put("w2", Variable.parameter(Tensor.randn(Device.CPU, DType.F32, seed + 2, 17, 5), "w2"));
        return p;
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        double sq = 0;
        for (float e : expected) sq += (double) e * e;
        double floor = 1e-6 * Math.sqrt(sq / Math.max(1, expected.length));
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs((double) expected[i] - actual[i]) > 1e-6 * Math.abs(expected[i]) + floor) {
                fail(what + "[" + i + "] = " + actual[i] + ", expected " + expected[i]);
            }
        }
    }

    @Test
    void fusedMatchesComposedOnFlatAndPerParameterPaths() {
        Map<String, Variable> fused = params(7), composed = params(7);
        AdamW.Options options = AdamW.Options.defaults().withWeightDecay(0.05);
        try (AdamW a = new AdamW(fused, options); AdamW b = new AdamW(composed, options)) {
            b.setFused(false);
            for (int step = 0; step < 6; step++) {
                // step 3 leaves b1 without a gradient: the per-parameter path
                for (Map<String, Variable> ps : java.util.List.of(fused, composed)) {
                    try (Scope s = Scope.open()) {
                        Variable loss = null;
                        for (Map.Entry<String, Variable> e : ps.entrySet()) {
                            if (step == 3 && e.getKey().equals("b1")) continue;
                            Variable x = e.getValue();
                            Variable term = x.mul(x).mul(Variable.constant(Tensor.randn(Device.CPU, DType.F32, 50 + step, x.shape()))).sumAll();
                            loss = loss == null ? term : loss.add(term);
                        }
                        loss.backward();
                    }
                }
                a.step(1e-2);
                b.step(1e-2);
                for (Variable p : fused.values()) p.zeroGrad();
                for (Variable p : composed.values()) p.zeroGrad();
            }
            for (String name : fused.keySet()) {
                assertClose(name, composed.get(name).data().toFloatArray(), fused.get(name).data().toFloatArray());
            }
            Map<String, Tensor> sa = a.state(), sb = b.state();
            for (String key : sa.keySet()) assertClose(key, sb.get(key).toFloatArray(), sa.get(key).toFloatArray());
        } finally {
            fused.values().forEach(Variable::close);
            composed.values().forEach(Variable::close);
        }
    }
}
