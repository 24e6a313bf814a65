package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * Layer normalisation over the last dimension, (x - mean) / sqrt(var + eps) * gamma + beta with
 * the biased variance, as one fused op each way ({@link Variable#layerNorm}: one kernel launch
 * forward, one to three backward on CUDA). gamma starts at 1, beta at 0.
 */
public final class LayerNorm extends Module {
    private final int dim;
    private final double eps;
    private final Variable gamma;
    private final Variable beta;

    public LayerNorm(Device device, int dim, double eps) {
        this(device, DType.F32, dim, eps);
    }

    public LayerNorm(Device device, DType dtype, int dim, double eps) {
        if (dim <= 0 || !(eps > 0)) throw new IllegalArgumentException("LayerNorm: needs dim > 0 and eps > 0, got " + dim + ", " + eps);
        this.dim = dim;
        this.eps = eps;
        this.gamma = registerParameter("weight", Tensor.ones(device, dtype, dim));
        this.beta = registerParameter("bias", Tensor.zeros(device, dtype, dim));
    }

    public Variable forward(Variable x) {
        if (x.rank() == 0 || x.size(-1) != dim) throw new IllegalArgumentException("LayerNorm(" + dim + "): input " + x.data().describe() + " must end in " + dim);
        return x.layerNorm(gamma, beta, eps);
    }

    public double eps() { return eps; }
}
