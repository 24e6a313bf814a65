package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Hyper-parameters of one fused AdamW update (see {@link Backend#adamwStep}) for step number
 * {@code step} (t, from 1): learning rate, betas, eps and the decoupled weight decay (0 for no
 * decay). Every backend computes the update in fp32 from the same fp32 coefficients,
 * {@link #coefficients()}, so the CPU reference and the CUDA kernel agree to the bit:
 * <pre>
 *   m = b1 m + (1 - b1) g
 *   v = b2 v + (1 - b2) g g
 *   p = p (1 - lr wd) - (m / (sqrt(v / (1 - b2^t)) + eps)) (lr / (1 - b1^t))
 * </pre>
 * each product, sum, quotient and square root rounded to fp32 in that order (no fused multiply-add),
 * which is the order of the composed elementwise ops the optimizer used before.
 */
public record AdamWHyper(double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
    /** Indices into {@link #coefficients()}. */
    public static final int BETA1 = 0, ONE_MINUS_BETA1 = 1, BETA2 = 2, ONE_MINUS_BETA2 = 3, CORRECTION2 = 4, EPS = 5,
            STEP_SIZE = 6, DECAY = 7, COUNT = 8;

    public AdamWHyper {
        if (step < 1 || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0) || !(lr >= 0)) {
            throw new IllegalArgumentException("adamwStep: needs step >= 1, lr >= 0, 0 <= beta < 1, eps > 0, weightDecay >= 0, got "
                    + "step " + step + ", lr " + lr + ", betas " + beta1 + ", " + beta2 + ", eps " + eps + ", wd " + weightDecay);
        }
    }

    /**
     * The fp32 scalars of the update, indexed by the constants above: beta1, 1 - beta1, beta2,
     * 1 - beta2, 1 - beta2^t, eps, lr / (1 - beta1^t), 1 - lr wd (exactly 1 without decay).
     * Each is computed in double and rounded once.
     */
    public float[] coefficients() {
        float[] c = new float[COUNT];
        c[BETA1] = (float) beta1;
        c[ONE_MINUS_BETA1] = (float) (1 - beta1);
        c[BETA2] = (float) beta2;
        c[ONE_MINUS_BETA2] = (float) (1 - beta2);
        c[CORRECTION2] = (float) (1 - Math.pow(beta2, step));
        c[EPS] = (float) eps;
        c[STEP_SIZE] = (float) (lr / (1 - Math.pow(beta1, step)));
        c[DECAY] = (float) (1 - lr * weightDecay);
        return c;
    }

    /**
     * Updates param, m and v in place on their backend: all four contiguous F32 tensors of one
     * shape on one device (grad is only read). One kernel launch on CUDA.
     */
    public void apply(Tensor param, Tensor grad, Tensor m, Tensor v) {
        Tensor[] all = {param, grad, m, v};
        String[] names = {"param", "grad", "m", "v"};
        for (int i = 0; i < all.length; i++) {
            Tensor t = all[i];
            if (t.isClosed()) throw new IllegalStateException("adamwStep: " + names[i] + " is closed");
            if (t.dtype() != DType.F32 || !t.isContiguous()) {
                throw new IllegalArgumentException("adamwStep: " + names[i] + " must be a contiguous F32 tensor, got " + t.describe()
                        + (t.isContiguous() ? "" : " (strided)"));
            }
            if (!Arrays.equals(t.shape(), param.shape())) {
                throw new IllegalArgumentException("adamwStep: " + names[i] + " has shape " + t.describe() + ", param " + param.describe());
            }
            if (!t.device().equals(param.device())) {
                throw new IllegalArgumentException("adamwStep: " + names[i] + " is on " + t.device() + ", param on " + param.device());
            }
        }
        if (param.numel() == 0) return;
        param.backend().adamwStep(param, grad, m, v, this);
    }
}
