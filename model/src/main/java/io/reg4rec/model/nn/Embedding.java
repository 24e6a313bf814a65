package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/**
 * A lookup table [count, dim]: forward gathers rows by index (any shape of I32/I64 indices gives
 * that shape plus dim), backward scatter-adds the output gradient into the rows it read.
 * Initialised normal with standard deviation {@code initStd}.
 */
public final class Embedding extends Module {
    private final int count;
    private final int dim;
    private final Variable weight;

    public Embedding(Device device, int count, int dim, double initStd, long seed) {
        this(device, DType.F32, count, dim, initStd, seed);
    }

    public Embedding(Device device, DType dtype, int count, int dim, double initStd, long seed) {
        if (count <= 0 || dim <= 0) throw new IllegalArgumentException("Embedding: count and dim must be positive, got " + count + " x " + dim);
        this.count = count;
        this.dim = dim;
        this.weight = registerParameter("weight", Init.normal(device, dtype, Init.childSeed(seed, 0), initStd, count, dim));
    }

    public Variable forward(Tensor indices) {
        if (indices.dtype() != DType.I64 && indices.dtype() != DType.I32) {
            throw new IllegalArgumentException("Embedding: indices must be I32 or I64, got " + indices.describe());
        }
        int[] shape = indices.shape();
        try (Tensor flat = indices.reshape(-1)) {
            Variable rows = weight.indexSelect(flat);
            int[] outShape = Arrays.copyOf(shape, shape.length + 1);
            outShape[shape.length] = dim;
            return rows.reshape(outShape);
        }
    }

    public Variable weight() { return weight; }

    public int count() { return count; }

    public int dim() { return dim; }
}
