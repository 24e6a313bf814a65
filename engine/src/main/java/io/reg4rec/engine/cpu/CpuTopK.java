package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of {@link io.reg4rec.engine.Backend#topk} (topk.cu is tested against it). Each
 * element gets an order key, a signed long that orders like the value with NaN (any payload) on
 * top and -0.0 equal to +0.0, the same total order as the kernel's unsigned keys. Per row a
 * min-heap of k (key, index) pairs keeps the best k seen so far ("better" = larger key, or equal
 * key and lower index); the heap is then emptied worst first into the output from the back.
 * The output values are the selected elements' own bits (NaN payloads and -0.0 kept).
 */
final class CpuTopK {
    private static final long GRAIN = 1L << 16;

    private CpuTopK() {}

    static void apply(Tensor x, int k, Tensor values, Tensor indices) {
        int rows = x.size(0), n = x.size(1);
        if (rows == 0) return;
        DType dt = x.dtype();
        Object src = ((CpuStorage) x.storage()).array(), dst = ((CpuStorage) values.storage()).array();
        int[] idxOut = (int[]) ((CpuStorage) indices.storage()).array();
        int xOff = (int) x.offset(), vOff = (int) values.offset(), iOff = (int) indices.offset();
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / n), (start, end) -> {
            long[] heapKeys = new long[k];
            int[] heapIdx = new int[k];
            for (long r = start; r < end; r++) {
                int base = xOff + (int) r * n;
                int size = 0;
                for (int j = 0; j < n; j++) {
                    long key = key(dt, src, base + j);
                    if (size < k) {
                        siftUp(heapKeys, heapIdx, size++, key, j);
                    } else if (key > heapKeys[0]) {
                        // equal keys never replace the root: j is larger than every kept index
                        siftDown(heapKeys, heapIdx, size, key, j);
                    }
                }
                int outBase = (int) r * k;
                for (int pos = k - 1; pos >= 0; pos--) {
                    int j = heapIdx[0];
                    idxOut[iOff + outBase + pos] = j;
                    copyElement(dt, src, base + j, dst, vOff + outBase + pos);
                    size--;
                    if (size > 0) siftDown(heapKeys, heapIdx, size, heapKeys[size], heapIdx[size]);
                }
            }
        });
    }

    /** The order key of element i: the value's bits made to sort as signed longs, NaN highest, zeros equal. */
    static long key(DType dt, Object array, int i) {
        switch (dt) {
            case F64 -> {
                double v = ((double[]) array)[i];
                if (v != v) return Long.MAX_VALUE;
                if (v == 0) return 0;
                long bits = Double.doubleToRawLongBits(v);
                return bits >= 0 ? bits : bits ^ Long.MAX_VALUE;
            }
            case F32 -> { return floatKey(Float.floatToRawIntBits(((float[]) array)[i])); }
            case BF16 -> { return floatKey(((short[]) array)[i] << 16); }
            default -> throw new IllegalArgumentException("topk on cpu: unsupported dtype " + dt);
        }
    }

    private static long floatKey(int bits) {
        float v = Float.intBitsToFloat(bits);
        if (v != v) return Integer.MAX_VALUE;
        if (v == 0) return 0;
        return bits >= 0 ? bits : bits ^ Integer.MAX_VALUE;
    }

    private static void copyElement(DType dt, Object src, int from, Object dst, int to) {
        switch (dt) {
            case F64 -> ((double[]) dst)[to] = ((double[]) src)[from];
            case F32 -> ((float[]) dst)[to] = ((float[]) src)[from];
            case BF16 -> ((short[]) dst)[to] = ((short[]) src)[from];
            default -> throw new IllegalArgumentException("topk on cpu: unsupported dtype " + dt);
        }
    }

    /** Whether (ka, ia) ranks below (kb, ib): a smaller key, or an equal key and a higher index. */
    private static boolean worse(long ka, int ia, long kb, int ib) {
        return ka < kb || (ka == kb && ia > ib);
    }

    /** Inserts (key, idx) at slot pos of a min-heap (root = the worst kept) and restores the order upwards. */
    private static void siftUp(long[] keys, int[] idx, int pos, long key, int index) {
        while (pos > 0) {
            int parent = (pos - 1) >>> 1;
            if (!worse(key, index, keys[parent], idx[parent])) break;
            keys[pos] = keys[parent];
            idx[pos] = idx[parent];
            pos = parent;
        }
        keys[pos] = key;
        idx[pos] = index;
    }

    /** Puts (key, idx) at the root of a heap of size entries and restores the order downwards. */
    private static void siftDown(long[] keys, int[] idx, int size, long key, int index) {
        int pos = 0;
        while (true) {
            int child = 2 * pos + 1;
            if (child >= size) break;
            if (child + 1 < size && worse(keys[child + 1], idx[child + 1], keys[child], idx[child])) child++;
            if (!worse(keys[child], idx[child], key, index)) break;
            keys[pos] = keys[child];
            idx[pos] = idx[child];
            pos = child;
        }
        keys[pos] = key;
        idx[pos] = index;
    }
}
