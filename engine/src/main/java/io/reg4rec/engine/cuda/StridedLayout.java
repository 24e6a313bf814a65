package io.reg4rec.engine.cuda;

import java.util.Arrays;

/**
 * The Java side of the kernels' {@code struct Strided} (kernels/src/main/cuda/common.cuh):
 * {rank, size[8], stride[3][8]} as 33 longs. Dimensions of size 1 are dropped and neighbours
 * that are contiguous for every operand are merged, so contiguous tensors become rank 1 and take
 * the kernels' fast path; the 8-dimension limit applies after merging.
 */
final class StridedLayout {
    static final int MAX_DIMS = 8;
    static final int MAX_OPERANDS = 3;
    static final int FIELDS = 1 + MAX_DIMS + MAX_OPERANDS * MAX_DIMS;

    private StridedLayout() {}

    /** Coalesced layout of shape walked with each operand's strides. */
    static long[] of(String op, int[] shape, long[]... strides) {
        return build(op, shape, strides, true);
    }

    /** Layout with the dimensions kept as they are (for ops whose kernel needs the axis). */
    static long[] exact(String op, int[] shape, long[]... strides) {
        return build(op, shape, strides, false);
    }

    private static long[] build(String op, int[] shape, long[][] strides, boolean merge) {
        if (strides.length > MAX_OPERANDS) throw new IllegalArgumentException("at most " + MAX_OPERANDS + " operands");
        int r = shape.length;
        long[] sizes = new long[Math.max(r, 1)];
        long[][] st = new long[strides.length][Math.max(r, 1)];
        int rank = 0;
        for (int d = 0; d < r; d++) {
            if (merge && shape[d] == 1) continue;
            if (merge && rank > 0) {
                if (mergeable(strides, st, rank - 1, d, shape[d])) {
                    sizes[rank - 1] *= shape[d];
                    for (int k = 0; k < strides.length; k++) st[k][rank - 1] = strides[k][d];
                    continue;
                }
            }
            sizes[rank] = shape[d];
            for (int k = 0; k < strides.length; k++) st[k][rank] = strides[k][d];
            rank++;
        }
        if (rank == 0) {  // a scalar or all-ones shape: one element at offset 0
            rank = 1;
            sizes[0] = 1;
            for (long[] s : st) s[0] = 0;
        }
        if (rank > MAX_DIMS) {
            throw new IllegalArgumentException(op + " on CUDA: shape " + Arrays.toString(shape) + " has " + rank
                    + " dimensions that cannot be merged; the kernels take at most " + MAX_DIMS + " (make the tensor contiguous first)");
        }
        long[] out = new long[FIELDS];
        out[0] = rank;
        for (int d = 0; d < rank; d++) {
            out[1 + d] = sizes[d];
            for (int k = 0; k < strides.length; k++) out[1 + MAX_DIMS + k * MAX_DIMS + d] = st[k][d];
        }
        return out;
    }

    /** Whether kept dimension {@code prev} and source dimension d walk memory as one dimension. */
    private static boolean mergeable(long[][] strides, long[][] kept, int prev, int d, int size) {
        for (int k = 0; k < strides.length; k++) {
            if (kept[k][prev] != strides[k][d] * size) return false;
        }
        return true;
    }
}
