package io.reg4rec.model.rec;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Plain Adam for the learning tests here (the real optimizer lives in the train module, which depends on this one). */
final class TestAdam implements AutoCloseable {
    private final List<Variable> params;
    private final List<Tensor> m = new ArrayList<>(), v = new ArrayList<>();
    private long steps;

    TestAdam(List<Variable> params) {
        this.params = params;
        for (Variable p : params) {
            m.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
            v.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
        }
    }

    void step(double lr) {
        steps++;
        AdamWHyper hyper = new AdamWHyper(lr, 0.9, 0.999, 1e-8, 0.0, steps);
        for (int i = 0; i < params.size(); i++) {
            Variable p = params.get(i);
            if (p.grad() == null) continue;
            try (Tensor g = p.grad().contiguous()) {
                hyper.apply(p.data(), g, m.get(i), v.get(i));
            }
            p.zeroGrad();
        }
    }

    @Override
    public void close() {
        m.forEach(Tensor::close);
        v.forEach(Tensor::close);
    }
}
