package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Gradient clipping by the global L2 norm over all parameters, as PyTorch's {@code clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient in place by maxNorm / (norm + 1e-6) when the global norm exceeds
     * maxNorm. Returns the norm before clipping (computed in fp32; one host synchronisation).
     * About two kernel launches per gradient on CUDA: a GEMM for its sum of squares and, when
     * clipping, one in-place multiply.
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
     * The sum of squares of all gradients in fp32 with one host synchronisation: each gradient's
     * sum of squares is one GEMM (g as a row times itself as a column) written into its slot of
     * a [count] vector, then one reduction; gradients on several devices or of other dtypes take
     * an fp32 copy or a per-device pass.
     */
    private static double sumOfSquares(List<Tensor> grads) {
        Device device = grads.get(0).device();
        for (Tensor g : grads) {
            if (!g.device().equals(device)) {
                double total = 0;
                for (Tensor h : grads) {
                    Tensor h32 = h.dtype() == DType.F32 ? h : h.to(DType.F32);
                    total += h32.mul(h32).sumAll().item();
                }
                return total;
            }
        }
        Tensor squares = Tensor.zeros(device, DType.F32, grads.size());
        for (int i = 0; i < grads.size(); i++) {
            Tensor g = grads.get(i);
            int n = Math.toIntExact(g.numel());
            if (n == 0) continue;
            Tensor g32 = g.dtype() == DType.F32 && g.isContiguous() ? g : g.to(DType.F32);
            Tensor row = g32.reshape(1, 1, n);
            try (Tensor slot = squares.slice(0, i, i + 1); Tensor out = slot.reshape(1, 1, 1)) {
                g32.backend().matmul(row, false, row, true, out);   // [1, n] x [n, 1]
            }
        }
        return squares.sumAll().item();
    }
}
