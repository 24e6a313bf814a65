package io.reg4rec.engine;

import java.util.Arrays;

/** Shape arithmetic shared by the frontend and the backends. */
public final class Shapes {
    private Shapes() {}

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return st;
    }

    /** Row-major dense, ignoring the strides of size-1 dimensions. */
    public static boolean isContiguous(int[] shape, long[] strides) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) continue;
            if (shape[i] == 0) return true;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** Normalises a possibly negative axis, naming the op when it is out of range. */
    public static int axis(int axis, int rank, String op) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new IllegalArgumentException(op + ": axis " + axis + " out of range for rank " + rank);
        return a;
    }

    /** Resolves a reshape target with at most one -1. */
    public static int[] inferReshape(int[] from, int[] to) {
        long total = numel(from);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(to));
                infer = i;
            } else if (to[i] < 0) {
                throw new IllegalArgumentException("reshape: negative dimension in " + Arrays.toString(to));
            } else {
                known *= to[i];
            }
        }
        int[] r = to.clone();
        if (infer >= 0) {
            if (known == 0 || total % known != 0) throw new IllegalArgumentException("reshape: cannot reshape " + Arrays.toString(from) + " into " + Arrays.toString(to));
            r[infer] = (int) (total / known);
        } else if (known != total) {
            throw new IllegalArgumentException("reshape: cannot reshape " + Arrays.toString(from) + " (" + total + " elements) into " + Arrays.toString(to));
        }
        return r;
    }

    /** NumPy broadcasting of two shapes. */
    public static int[] broadcast(int[] a, int[] b, String op) {
        int rank = Math.max(a.length, b.length);
        int[] r = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /** Strides that view (shape, strides) as target, with 0 for broadcast dimensions. */
    public static long[] broadcastStrides(int[] shape, long[] strides, int[] target, String op) {
        if (target.length < shape.length) {
            throw new IllegalArgumentException(op + ": cannot broadcast " + Arrays.toString(shape) + " to fewer dimensions " + Arrays.toString(target));
        }
        long[] r = new long[target.length];
        int lead = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            if (i < lead) { r[i] = 0; continue; }
            int d = shape[i - lead];
            if (d == target[i]) r[i] = strides[i - lead];
            else if (d == 1) r[i] = 0;
            else throw new IllegalArgumentException(op + ": cannot broadcast " + Arrays.toString(shape) + " to " + Arrays.toString(target));
        }
        return r;
    }
}
