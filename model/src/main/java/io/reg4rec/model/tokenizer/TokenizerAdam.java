package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Plain Adam (betas 0.9 / 0.999, eps 1e-8, no weight decay) over the engine's fused AdamW op
 * ({@link AdamWHyper#apply}), updating each parameter in place: the default optimizer of the
 * tokenizers, so that the model module trains them without the train module. Parameters without
 * a gradient in a step are skipped.
 */
public final class TokenizerAdam implements ParameterOptimizer {
    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

    private final List<Variable> params = new ArrayList<>();
    private final List<Tensor> firstMoments = new ArrayList<>();
    private final List<Tensor> secondMoments = new ArrayList<>();
    private long steps;

    public TokenizerAdam(Map<String, Variable> parameters) {
        parameters.forEach((name, p) -> {
            if (!p.requiresGrad() || !p.isLeaf() || p.dtype() != DType.F32 || !p.data().isContiguous()) {
                throw new IllegalArgumentException("TokenizerAdam: '" + name + "' must be a contiguous F32 trainable leaf, got " + p);
            }
            params.add(p);
            firstMoments.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
            secondMoments.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
        });
    }

    public static Factory factory() {
        return TokenizerAdam::new;
    }

    @Override
    public void step(double learningRate) {
        steps++;
        AdamWHyper hyper = new AdamWHyper(learningRate, BETA1, BETA2, EPS, 0.0, steps);
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            for (int i = 0; i < params.size(); i++) {
                Variable p = params.get(i);
                Tensor g = p.grad();
                if (g == null) continue;
                if (g.dtype() != DType.F32 || !g.isContiguous()) g = g.to(DType.F32);
                hyper.apply(p.data(), g, firstMoments.get(i), secondMoments.get(i));
            }
        }
    }

    public long steps() { return steps; }

    @Override
    public void close() {
        firstMoments.forEach(Tensor::close);
        secondMoments.forEach(Tensor::close);
    }
}
