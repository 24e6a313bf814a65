package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;

import java.util.Arrays;

/**
 * y = x W^T + b over the last dimension of x (any rank >= 1). The weight is stored [out, in] as
 * in PyTorch, so checkpoints line up with a PyTorch peer; the transpose is a view that the GEMM
 * reads through a transpose flag. Initialisation as PyTorch's default: W and b uniform on
 * [-1/sqrt(in), 1/sqrt(in)).
 */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Variable weight;
    private final Variable bias;

    public Linear(Device device, int inFeatures, int outFeatures, boolean bias, long seed) {
        this(device, DType.F32, inFeatures, outFeatures, bias, seed);
    }

    public Linear(Device device, DType dtype, int inFeatures, int outFeatures, boolean bias, long seed) {
        if (inFeatures <= 0 || outFeatures <= 0) throw new IllegalArgumentException("Linear: features must be positive, got " + inFeatures + " -> " + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        double bound = 1.0 / Math.sqrt(inFeatures);
        this.weight = registerParameter("weight", Init.uniform(device, dtype, Init.childSeed(seed, 0), bound, outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Init.uniform(device, dtype, Init.childSeed(seed, 1), bound, outFeatures)) : null;
    }

    public Variable forward(Variable x) {
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != inFeatures) {
            throw new IllegalArgumentException("Linear(" + inFeatures + " -> " + outFeatures + "): input " + x.data().describe() + " must end in " + inFeatures);
        }
        // One GEMM over all leading positions: [N, in] x [in, out].
        Variable rows = shape.length == 2 ? x : x.reshape(-1, inFeatures);
        Variable y = rows.matmul(weight.transpose(0, 1));
        if (bias != null) y = y.add(bias);
        if (shape.length == 2) return y;
        int[] outShape = Arrays.copyOf(shape, shape.length);
        outShape[shape.length - 1] = outFeatures;
        return y.reshape(outShape);
    }

    /** x W^T without the bias (for callers that fuse the bias into the next op), same shapes as {@link #forward}. */
    Variable forwardWithoutBias(Variable x) {
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != inFeatures) {
            throw new IllegalArgumentException("Linear(" + inFeatures + " -> " + outFeatures + "): input " + x.data().describe() + " must end in " + inFeatures);
        }
        Variable rows = shape.length == 2 ? x : x.reshape(-1, inFeatures);
        Variable y = rows.matmul(weight.transpose(0, 1));
        if (shape.length == 2) return y;
        int[] outShape = Arrays.copyOf(shape, shape.length);
        outShape[shape.length - 1] = outFeatures;
        return y.reshape(outShape);
    }

    public Variable weight() { return weight; }

    /** The bias, or null when built without one. */
    public Variable bias() { return bias; }

    public int inFeatures() { return inFeatures; }

    public int outFeatures() { return outFeatures; }
}
