package io.reg4rec.engine;

/**
 * The result of {@link Tensor#topk}: the k largest values along the last axis in descending
 * order and their positions (I32) along that axis; closing it closes both tensors.
 */
public record TopK(Tensor values, Tensor indices) implements AutoCloseable {
    @Override
    public void close() {
        try {
            values.close();
        } finally {
            indices.close();
        }
    }
}
