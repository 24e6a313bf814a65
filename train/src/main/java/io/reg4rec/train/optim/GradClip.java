package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Gradient clipping by the global L2 norm over all parameters, as PyTorch's {@code clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient in place by maxNorm / (norm + 1e-6) when the global norm exceeds
     * maxNorm. Returns the norm before clipping (computed in fp32; one host synchronisation).
     * On CUDA one kernel launch for the sum of squares of all gradients and, when clipping, one
     * in-place multiply per gradient. {@link AdamW#step(double, double)} clips inside the update
     * instead, without the host read.
     */
    public static double clipGlobalNorm(Collection<Variable> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("clipGlobalNorm: maxNorm must be positive, got " + maxNorm);
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            List<Tensor> grads = new ArrayList<>();
            for (Variable p : params) if (p.grad() != null) grads.add(p.grad());
            if (grads.isEmpty()) return 0.0;
            double norm = Math.sqrt(sumOfSquares(grads));
            double scale = maxNorm / (norm + 1e-6);
            if (scale < 1) {
                for (Tensor g : grads) {
                    // in place where possible: one multiply per gradient
                    if (g.isContiguous()) g.backend().binaryScalar(BinaryOp.MUL, g, scale, false, g);
                    else g.copyFrom(g.mul(scale));
                }
            }
            return norm;
        }
    }

    /**
     * The sum of squares of all gradients in fp32 with one host read per device: one
     * {@link GradNorm#sumOfSquares} op per device over all its gradients (one kernel launch on
     * CUDA); gradients of other dtypes or strided ones take a contiguous fp32 copy first.
     */
    private static double sumOfSquares(List<Tensor> grads) {
        Map<Device, List<Tensor>> byDevice = new LinkedHashMap<>();
        for (Tensor g : grads) {
            Tensor g32 = g.dtype() == DType.F32 && g.isContiguous() ? g : g.to(DType.F32);
            byDevice.computeIfAbsent(g.device(), d -> new ArrayList<>()).add(g32);
        }
        double total = 0;
        for (Map.Entry<Device, List<Tensor>> e : byDevice.entrySet()) {
            total += GradNorm.sumOfSquares(e.getKey(), e.getValue().toArray(new Tensor[0])).item();
        }
        return total;
    }
}
