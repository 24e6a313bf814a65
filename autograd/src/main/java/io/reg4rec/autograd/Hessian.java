package io.reg4rec.autograd;

import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Second-order information for LADQ's sensitivity analysis, from first-order gradients only.
 *
 * <p>Hessian-vector products use central finite differences of gradients:
 * {@code Hv ≈ (g(w + εv) − g(w − εv)) / 2ε}, where g is the gradient of the loss with respect to
 * the parameter group w. The error has two parts: truncation O(ε²·‖∇³L‖·‖v‖³) and rounding
 * about u·‖g‖/ε, with u the unit roundoff of the parameters' dtype (the perturbed weights w ± εv
 * are themselves rounded to that dtype, an error of u·‖w‖). Balancing the two gives ε ∝ u^(1/3);
 * the default is {@code ε = u^(1/3) · (1 + ‖w‖₂) / ‖v‖₂}, i.e. the perturbation εv has norm
 * u^(1/3)(1 + ‖w‖) (about 4e-3 relative in fp32, 5e-6 in fp64). On a quadratic loss the gradient
 * is linear, so the product is exact up to rounding for any ε.
 *
 * <p>The loss supplier must rebuild the graph from the parameters' current values on every call.
 * Gradients already accumulated in any leaf of the loss are left as they were.
 */
public final class Hessian {
    private Hessian() {}

    /** A Hutchinson estimate: the mean of vᵀHv over the samples and its standard error. */
    public record TraceEstimate(double trace, double standardError, double[] sampleValues) {
        public int samples() { return sampleValues.length; }

        @Override
        public String toString() {
            return String.format("trace %.6g ± %.2g (%d samples)", trace, standardError, sampleValues.length);
        }
    }

    /** Unit roundoff of a floating dtype. */
    static double unitRoundoff(DType dtype) {
        return switch (dtype) {
            case F64 -> 0x1p-53;
            case F32 -> 0x1p-24;
            case BF16 -> 0x1p-8;
            case F8E4M3 -> 0x1p-4;
            case F8E5M2 -> 0x1p-3;
            default -> throw new IllegalArgumentException("unit roundoff: " + dtype + " is not a floating type");
        };
    }

    /** The default step ε = u^(1/3) (1 + ‖w‖₂) / ‖v‖₂ (see the class comment). */
    public static double defaultStep(List<Variable> params, List<Tensor> v) {
        double w2 = 0, v2 = 0;
        for (Variable p : params) w2 += sumOfSquares(p.data());
        for (Tensor t : v) v2 += sumOfSquares(t);
        if (v2 == 0) return 1;
        return Math.cbrt(unitRoundoff(params.get(0).dtype())) * (1 + Math.sqrt(w2)) / Math.sqrt(v2);
    }

    /** Hv with the default step; see {@link #vectorProduct(Supplier, List, List, double)}. */
    public static List<Tensor> vectorProduct(Supplier<Variable> loss, List<Variable> params, List<Tensor> v) {
        return vectorProduct(loss, params, v, defaultStep(params, v));
    }

    /**
     * The product of the Hessian block of {@code params} with {@code v} (one tensor per parameter,
     * same shapes). Parameter values are restored exactly afterwards. The returned tensors belong
     * to the caller's current scope (or to the caller when none is open).
     */
    public static List<Tensor> vectorProduct(Supplier<Variable> loss, List<Variable> params, List<Tensor> v, double eps) {
        if (params.size() != v.size()) throw new IllegalArgumentException("Hessian-vector product: " + params.size() + " parameters but " + v.size() + " vector parts");
        for (int i = 0; i < params.size(); i++) {
            if (!Arrays.equals(params.get(i).shape(), v.get(i).shape())) {
                throw new IllegalArgumentException("Hessian-vector product: vector part " + Arrays.toString(v.get(i).shape())
                        + " does not match parameter " + params.get(i).name() + " " + Arrays.toString(params.get(i).shape()));
            }
        }
        List<Tensor> result = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            List<Tensor> original = new ArrayList<>();
            for (Variable p : params) original.add(p.data().to(p.dtype()));
            try {
                List<Tensor> plus = gradientAt(loss, params, original, v, eps);
                List<Tensor> minus = gradientAt(loss, params, original, v, -eps);
                for (int i = 0; i < params.size(); i++) {
                    try (Tensor diff = plus.get(i).sub(minus.get(i))) {
                        result.add(diff.div(2 * eps));
                    }
                }
            } finally {
                for (int i = 0; i < params.size(); i++) params.get(i).update(original.get(i));
            }
            for (Tensor t : result) t.keep();
        }
        return result;
    }

    /**
     * Hutchinson's estimator of trace(H) over a parameter group: the mean of vᵀHv over Rademacher
     * vectors v (entries ±1 with equal probability), drawn from {@code seed} so runs repeat. The
     * variance of one sample is 2·Σ_{i≠j} H_ij², so the standard error falls as 1/√samples.
     */
    public static TraceEstimate hutchinsonTrace(Supplier<Variable> loss, List<Variable> group, int samples, long seed) {
        if (samples < 1) throw new IllegalArgumentException("Hutchinson trace: samples must be >= 1, got " + samples);
        double[] values = new double[samples];
        for (int s = 0; s < samples; s++) {
            try (Scope scope = Scope.open()) {
                List<Tensor> v = new ArrayList<>();
                for (int i = 0; i < group.size(); i++) v.add(rademacher(group.get(i), mix(seed, s, i)));
                List<Tensor> hv = vectorProduct(loss, group, v);
                double sum = 0;
                for (int i = 0; i < group.size(); i++) {
                    sum += dot(v.get(i), hv.get(i));
                }
                values[s] = sum;
            }
        }
        double mean = Arrays.stream(values).average().orElse(0);
        double var = 0;
        for (double x : values) var += (x - mean) * (x - mean);
        double stdErr = samples > 1 ? Math.sqrt(var / (samples - 1) / samples) : Double.NaN;
        return new TraceEstimate(mean, stdErr, values);
    }

    /** Entries +1 or -1, each with probability 1/2, shaped like p. */
    static Tensor rademacher(Variable p, long seed) {
        try (Tensor u = Tensor.rand(p.device(), p.dtype(), seed, p.shape()); Tensor bit = u.binary(BinaryOp.GE, 0.5); Tensor twice = bit.mul(2.0)) {
            return twice.sub(1.0);
        }
    }

    private static long mix(long seed, int sample, int part) {
        long z = seed * 0x9E3779B97F4A7C15L + sample * 0xBF58476D1CE4E5B9L + part * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Gradients of the loss with respect to params at w + step·v; other leaves' gradients are left
     * untouched. Returned tensors live in the caller's scope.
     */
    private static List<Tensor> gradientAt(Supplier<Variable> loss, List<Variable> params, List<Tensor> w, List<Tensor> v, double step) {
        for (int i = 0; i < params.size(); i++) {
            try (Tensor dv = v.get(i).mul(step); Tensor shifted = w.get(i).add(dv)) {
                params.get(i).update(shifted);
            }
        }
        Map<Variable, Tensor> stashed = new IdentityHashMap<>();
        for (Variable p : params) stashed.put(p, p.takeGrad());
        List<Tensor> grads = new ArrayList<>();
        try {
            try (Scope scope = Scope.open()) {
                Variable l = loss.get();
                if (!l.requiresGrad()) throw new IllegalStateException("Hessian-vector product: the loss does not depend on any parameter that requires grad");
                for (Variable leaf : leaves(l)) {
                    if (!stashed.containsKey(leaf)) stashed.put(leaf, leaf.takeGrad());
                }
                l.backward();
            }
            for (Variable p : params) {
                Tensor g = p.takeGrad();
                if (g == null) {
                    grads.add(Tensor.zeros(p.device(), p.dtype(), p.shape()));
                } else {
                    // taken out of scopes by backward; hand it to the caller's scope
                    grads.add(g.to(g.dtype()));
                    g.close();
                }
            }
        } finally {
            for (Map.Entry<Variable, Tensor> e : stashed.entrySet()) e.getKey().restoreGrad(e.getValue());
        }
        return grads;
    }

    /** Leaves requiring grad reachable from v. */
    private static List<Variable> leaves(Variable v) {
        if (v.isLeaf()) return List.of(v);
        Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Variable> out = new ArrayList<>();
        for (Node n : Backprop.topologicalOrder(v.gradFn(), false)) {
            for (Variable in : n.inputs()) {
                if (in.isLeaf() && in.requiresGrad() && seen.add(in)) out.add(in);
            }
        }
        return out;
    }

    private static double sumOfSquares(Tensor t) {
        return dot(t, t);
    }

    private static double dot(Tensor a, Tensor b) {
        if (a.numel() == 0) return 0;
        try (Tensor prod = a.mul(b); Tensor s = prod.sumAll(); Tensor s64 = s.to(DType.F64)) {
            return ((double[]) s64.toHost())[0];
        }
    }
}
