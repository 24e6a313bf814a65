package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.Collection;

/** Gradient clipping by the global L2 norm over all parameters, as PyTorch's {@code clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient in place by maxNorm / (norm + 1e-6) when the global norm exceeds
     * maxNorm. Returns the norm before clipping (computed in fp32; one host synchronisation).
     */
    public static double clipGlobalNorm(Collection<Variable> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGlobalNorm: maxNorm must be positive, got " + maxNorm);
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            Tensor total = null;
            for (Variable p : params) {
                Tensor g = p.grad();
                if (g == null) continue;
                Tensor g32 = g.dtype() == DType.F32 ? g : g.to(DType.F32);
                Tensor squares = g32.mul(g32).sumAll();
                total = total == null ? squares : total.add(squares);
            }
            if (total == null) return 0.0;
            double norm = Math.sqrt(total.item());
            double scale = maxNorm / (norm + 1e-6);
            if (scale < 1) {
                for (Variable p : params) {
                    Tensor g = p.grad();
                    if (g != null) g.copyFrom(g.mul(scale));
                }
            }
            return norm;
        }
    }
}
