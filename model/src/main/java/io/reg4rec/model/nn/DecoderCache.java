package io.reg4rec.model.nn;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

/**
 * The state of incremental (one position per call) decoding through a {@link TransformerDecoder}:
 * per layer, the self-attention keys and values of every position decoded so far, and the
 * cross-attention keys and values of the encoder memory, projected once.
 *
 * <p>Rows are laid out in groups: the encoder memory holds one entry per group (a user) and each
 * group owns {@link #rowsPerGroup()} consecutive decoding rows (its beams). Cross-attention treats
 * a group's rows as that many queries over the group's memory, so the memory is never copied per
 * beam. {@link #reorder} re-selects rows (beam search keeping the children of some beams and
 * dropping others) and may change the number of rows per group.
 *
 * <p>Inference only: built and advanced under {@link NoGrad}. The cache owns its tensors (outside
 * every scope) until {@link #close()}.
 */
public final class DecoderCache implements AutoCloseable {
    private final int groups;
    private final int heads;
    private final Tensor memoryPadding;
    private final MultiHeadAttention.ProjectedKeyValue[] memory;
    private final Tensor[] selfKeys;
    private final Tensor[] selfValues;
    private int rowsPerGroup = 1;
    private int length;
    private boolean closed;

    DecoderCache(int groups, int heads, MultiHeadAttention.ProjectedKeyValue[] memory, Tensor memoryPadding) {
        this.groups = groups;
        this.heads = heads;
        this.memory = memory;
        for (MultiHeadAttention.ProjectedKeyValue kv : memory) {
            kv.keys().data().unscoped();
            kv.values().data().unscoped();
        }
        this.memoryPadding = memoryPadding == null ? null : memoryPadding.to(DType.F32).unscoped();
        this.selfKeys = new Tensor[memory.length];
        this.selfValues = new Tensor[memory.length];
    }

    static void requireNoGrad(String op) {
        if (NoGrad.isGradEnabled()) throw new IllegalStateException(op + ": incremental decoding is inference only; call it under NoGrad");
    }

    /** Number of groups (encoder memories). */
    public int groups() { return groups; }

    /** Decoding rows per group. */
    public int rowsPerGroup() { return rowsPerGroup; }

    /** Decoding rows in all: groups * rowsPerGroup. */
    public int rows() { return groups * rowsPerGroup; }

    /** Positions decoded so far (the next step's position index). */
    public int length() { return length; }

    MultiHeadAttention.ProjectedKeyValue memory(int layer) { return memory[layer]; }

    Tensor memoryPadding() { return memoryPadding; }

    /** Appends this step's keys and values ([rows * heads, 1, headDim]) of one layer; returns all positions so far. */
    MultiHeadAttention.ProjectedKeyValue appendSelf(int layer, MultiHeadAttention.ProjectedKeyValue fresh) {
        checkOpen();
        Tensor k = fresh.keys().data(), v = fresh.values().data();
        if (k.size(0) != rows() * heads) throw new IllegalArgumentException("DecoderCache: step has " + k.size(0) / heads + " rows, cache has " + rows());
        Tensor newK = selfKeys[layer] == null ? k.contiguous() : concatPositions(selfKeys[layer], k);
        Tensor newV = selfValues[layer] == null ? v.contiguous() : concatPositions(selfValues[layer], v);
        replace(selfKeys, layer, newK.unscoped());
        replace(selfValues, layer, newV.unscoped());
        return new MultiHeadAttention.ProjectedKeyValue(Variable.constant(selfKeys[layer]), Variable.constant(selfValues[layer]));
    }

    private static Tensor concatPositions(Tensor cached, Tensor fresh) {
        return Variable.concat(1, Variable.constant(cached), Variable.constant(fresh)).data();
    }

    private static void replace(Tensor[] slots, int i, Tensor t) {
        if (slots[i] != null && slots[i] != t) slots[i].close();
        slots[i] = t;
    }

    void advance() { length++; }

    /**
     * Keeps, as new row r, the cached state of old row {@code sourceRows[r]}; the new layout has
     * {@code newRowsPerGroup} rows per group, and every row must come from a row of its own group.
     */
    public void reorder(int[] sourceRows, int newRowsPerGroup) {
        checkOpen();
        if (newRowsPerGroup <= 0 || sourceRows.length != groups * newRowsPerGroup) {
            throw new IllegalArgumentException("DecoderCache.reorder: needs " + groups + " groups x " + newRowsPerGroup + " rows, got " + sourceRows.length + " sources");
        }
        long[] index = new long[sourceRows.length];
        for (int r = 0; r < sourceRows.length; r++) {
            int src = sourceRows[r];
            if (src < 0 || src >= rows() || src / rowsPerGroup != r / newRowsPerGroup) {
                throw new IllegalArgumentException("DecoderCache.reorder: new row " + r + " (group " + r / newRowsPerGroup + ") cannot take old row " + src
                        + " (" + rows() + " rows, " + rowsPerGroup + " per group)");
            }
            index[r] = src;
        }
        if (length > 0) {
            try (Tensor idx = Tensor.of(selfKeys[0].device(), index, index.length)) {
                for (int layer = 0; layer < selfKeys.length; layer++) {
                    replace(selfKeys, layer, selectRows(selfKeys[layer], idx).unscoped());
                    replace(selfValues, layer, selectRows(selfValues[layer], idx).unscoped());
                }
            }
        }
        rowsPerGroup = newRowsPerGroup;
    }

    /** [oldRows * heads, t, hd] -> [index.length * heads, t, hd] picking whole rows. */
    private Tensor selectRows(Tensor cached, Tensor index) {
        int t = cached.size(1), hd = cached.size(2);
        try (Tensor byRow = cached.reshape(cached.size(0) / heads, heads * t * hd); Tensor picked = byRow.indexSelect(index)) {
            return picked.reshape(index.size(0) * heads, t, hd);
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("DecoderCache: used after close");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (MultiHeadAttention.ProjectedKeyValue kv : memory) {
            kv.keys().data().close();
            kv.values().data().close();
        }
        if (memoryPadding != null) memoryPadding.close();
        for (int i = 0; i < selfKeys.length; i++) {
            if (selfKeys[i] != null) selfKeys[i].close();
            if (selfValues[i] != null) selfValues[i].close();
        }
    }
}
