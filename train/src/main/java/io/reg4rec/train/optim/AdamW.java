package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), as PyTorch's {@code AdamW}:
 * <pre>
 *   p  &lt;- p (1 - lr wd)                      (decay, skipped for vectors unless asked)
 *   m  &lt;- b1 m + (1 - b1) g
 *   v  &lt;- b2 v + (1 - b2) g^2
 *   p  &lt;- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * </pre>
 * The moments are fp32 tensors held outside every scope (they outlive the training step's scope
 * like the parameters do) and overwritten in place; the update runs under {@link NoGrad} in a
 * scope of its own, so a step leaves no new allocations behind. Parameters without a gradient
 * are skipped.
 */
public final class AdamW implements AutoCloseable {
    /** Hyper-parameters; {@code decayVectors} also decays rank-0/1 parameters (biases, norms), which are usually left alone. */
    public record Options(double beta1, double beta2, double eps, double weightDecay, boolean decayVectors) {
        public Options {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW: needs 0 <= beta < 1, eps > 0, weightDecay >= 0, got " + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
            }
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public static Options defaults() {
            return new Options(0.9, 0.999, 1e-8, 0.01, false);
        }

        public Options withWeightDecay(double wd) {
            return new Options(beta1, beta2, eps, wd, decayVectors);
        }
    }

    private final Options options;
    private final List<String> names = new ArrayList<>();
    private final List<Variable> params = new ArrayList<>();
    private final List<Tensor> firstMoments = new ArrayList<>();
    private final List<Tensor> secondMoments = new ArrayList<>();
    private long steps;

    /** Optimises the given parameters (e.g. {@code module.namedParameters()}); moments start at zero. */
    public AdamW(Map<String, Variable> parameters, Options options) {
        this.options = options;
        for (Map.Entry<String, Variable> e : parameters.entrySet()) {
            Variable p = e.getValue();
            if (!p.requiresGrad() || !p.isLeaf()) throw new IllegalArgumentException("AdamW: '" + e.getKey() + "' is not a trainable leaf: " + p);
            names.add(e.getKey());
            params.add(p);
            firstMoments.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
            secondMoments.add(Tensor.zeros(p.device(), DType.F32, p.shape()).unscoped());
        }
    }

    /** One update with learning rate lr from the gradients accumulated so far (gradients are not cleared). */
    public void step(double lr) {
        steps++;
        double b1 = options.beta1, b2 = options.beta2;
        double correction1 = 1 - Math.pow(b1, steps);
        double correction2 = 1 - Math.pow(b2, steps);
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            for (int i = 0; i < params.size(); i++) {
                Variable p = params.get(i);
                Tensor grad = p.grad();
                if (grad == null) continue;
                Tensor g = grad.dtype() == DType.F32 ? grad : grad.to(DType.F32);
                Tensor m = firstMoments.get(i), v = secondMoments.get(i);
                m.copyFrom(m.mul(b1).add(g.mul(1 - b1)));
                v.copyFrom(v.mul(b2).add(g.mul(g).mul(1 - b2)));
                Tensor denominator = v.div(correction2).sqrt().add(options.eps);
                Tensor step = m.div(denominator).mul(lr / correction1);
                Tensor value = p.dtype() == DType.F32 ? p.data() : p.data().to(DType.F32);
                boolean decay = options.weightDecay > 0 && (options.decayVectors || p.rank() >= 2);
                Tensor decayed = decay ? value.mul(1 - lr * options.weightDecay) : value;
                p.update(decayed.sub(step));
            }
        }
    }

    /** Number of steps taken (t in the bias corrections). */
    public long steps() { return steps; }

    public Options options() { return options; }

    /**
     * The optimizer state for a checkpoint: {@code exp_avg.NAME} and {@code exp_avg_sq.NAME} per
     * parameter (live views of the state; do not close them).
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) out.put("exp_avg." + names.get(i), firstMoments.get(i));
        for (int i = 0; i < names.size(); i++) out.put("exp_avg_sq." + names.get(i), secondMoments.get(i));
        return Collections.unmodifiableMap(out);
    }

    /** Restores state written by {@link #state()} and the step count it was taken at. */
    public void loadState(Map<String, Tensor> state, long steps) {
        for (int i = 0; i < names.size(); i++) {
            for (String kind : new String[]{"exp_avg.", "exp_avg_sq."}) {
                Tensor src = state.get(kind + names.get(i));
                if (src == null) throw new IllegalArgumentException("AdamW.loadState: missing " + kind + names.get(i));
                (kind.equals("exp_avg.") ? firstMoments : secondMoments).get(i).copyFrom(src);
            }
        }
        this.steps = steps;
    }

    /** Releases the moments (not the parameters). */
    @Override
    public void close() {
        firstMoments.forEach(Tensor::close);
        secondMoments.forEach(Tensor::close);
    }
}
