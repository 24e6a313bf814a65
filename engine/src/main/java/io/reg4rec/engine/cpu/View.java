package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Fp8;
import io.reg4rec.engine.Storage;
import io.reg4rec.engine.Tensor;

/**
 * A tensor seen by the CPU kernels: its array, dtype and strided layout. Elements are addressed
 * by their row-major linear index; chunks of them are loaded into double or long buffers (the
 * compute types) or stored from them into a contiguous output.
 */
final class View {
    final Object array;
    final DType dtype;
    final int[] shape;
    final long[] strides;
    final long offset;
    final boolean contiguous;

    View(Object array, DType dtype, int[] shape, long[] strides, long offset) {
        this.array = array;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.contiguous = io.reg4rec.engine.Shapes.isContiguous(shape, strides);
    }

    static View of(Tensor t) {
        Storage s = t.storage();
        if (!(s instanceof CpuStorage cs)) throw new IllegalArgumentException("cpu backend: tensor " + t.describe() + " lives on " + s.device());
        return new View(cs.array(), t.dtype(), t.shape(), t.strides(), t.offset());
    }

    /** The same storage seen with other shape, strides and offset (e.g. a zero stride on an axis). */
    View relayout(int[] newShape, long[] newStrides, long newOffset) {
        return new View(array, dtype, newShape, newStrides, newOffset);
    }

    long numel() { return io.reg4rec.engine.Shapes.numel(shape); }

    /** Array offsets of the elements with linear index [start, start + n). */
    void offsets(long start, int n, int[] out) {
        if (n == 0) return;
        if (contiguous) {
            int base = (int) (offset + start);
            for (int i = 0; i < n; i++) out[i] = base + i;
            return;
        }
        int rank = shape.length;
        int[] coord = new int[rank];
        long rem = start, off = offset;
        for (int d = rank - 1; d >= 0; d--) {
            coord[d] = (int) (rem % shape[d]);
            rem /= shape[d];
            off += coord[d] * strides[d];
        }
        int last = rank - 1;
        long step = strides[last];
        int size = shape[last];
        int i = 0;
        while (true) {
            int run = Math.min(n - i, size - coord[last]);
            for (int j = 0; j < run; j++) out[i + j] = (int) (off + j * step);
            i += run;
            if (i >= n) return;
            off += (long) run * step - (long) size * step;
            coord[last] = 0;
            for (int d = last - 1; d >= 0; d--) {
                coord[d]++;
                off += strides[d];
                if (coord[d] < shape[d]) break;
                off -= (long) shape[d] * strides[d];
                coord[d] = 0;
            }
        }
    }

    /** Loads elements [start, start + n) as doubles (exact for every float dtype and I32). */
    void loadDouble(long start, int n, double[] buf, int[] idx) {
        offsets(start, n, idx);
        switch (dtype) {
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++) buf[i] = Bf16.toFloat(a[idx[i]]); }
            case F8E4M3 -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++) buf[i] = Fp8.e4m3ToFloat(a[idx[i]]); }
            case F8E5M2 -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++) buf[i] = Fp8.e5m2ToFloat(a[idx[i]]); }
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
        }
    }

    /** Loads elements as longs; floats truncate toward zero (NaN to 0, saturating at the long range). */
    void loadLong(long start, int n, long[] buf, int[] idx) {
        offsets(start, n, idx);
        switch (dtype) {
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++) buf[i] = a[idx[i]]; }
            default -> {
                double[] d = new double[n];
                loadDouble(start, n, d, idx);
                for (int i = 0; i < n; i++) buf[i] = (long) d[i];
            }
        }
    }

    /** Reads one element (by array offset) as a long index value; for I32/I64 index tensors. */
    long indexAt(int arrayOffset) {
        return dtype == DType.I64 ? ((long[]) array)[arrayOffset] : ((int[]) array)[arrayOffset];
    }

    /**
     * Stores doubles into contiguous elements [start, start + n) of this (contiguous) view with one
     * rounding: floats to nearest even (fp8 saturating), integers truncated toward zero.
     */
    void storeDouble(long start, int n, double[] buf) {
        int base = (int) (offset + start);
        switch (dtype) {
            case F64 -> System.arraycopy(buf, 0, (double[]) array, base, n);
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++) a[base + i] = (float) buf[i]; }
            case BF16 -> { short[] a = (short[]) array; for (int i = 0; i < n; i++) a[base + i] = Bf16.fromDouble(buf[i]); }
            case F8E4M3 -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++) a[base + i] = Fp8.e4m3FromDouble(buf[i]); }
            case F8E5M2 -> { byte[] a = (byte[]) array; for (int i = 0; i < n; i++) a[base + i] = Fp8.e5m2FromDouble(buf[i]); }
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++) a[base + i] = (int) buf[i]; }
            case I64 -> { long[] a = (long[]) array; for (int i = 0; i < n; i++) a[base + i] = (long) buf[i]; }
        }
    }

    /** Stores longs into contiguous elements; I32 wraps, floats round to nearest even. */
    void storeLong(long start, int n, long[] buf) {
        int base = (int) (offset + start);
        switch (dtype) {
            case I64 -> System.arraycopy(buf, 0, (long[]) array, base, n);
            case I32 -> { int[] a = (int[]) array; for (int i = 0; i < n; i++) a[base + i] = (int) buf[i]; }
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++) a[base + i] = (float) buf[i]; }
            default -> {
                double[] d = new double[n];
                for (int i = 0; i < n; i++) d[i] = (double) buf[i];
                storeDouble(start, n, d);
            }
        }
    }

    /** Copies elements at the given source array offsets, bit for bit, into contiguous dst. */
    static void copyRaw(Object src, int[] idx, int n, Object dst, int dstStart) {
        if (src instanceof float[] s) { float[] d = (float[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
        else if (src instanceof double[] s) { double[] d = (double[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
        else if (src instanceof short[] s) { short[] d = (short[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
        else if (src instanceof byte[] s) { byte[] d = (byte[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
        else if (src instanceof int[] s) { int[] d = (int[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
        else { long[] s = (long[]) src; long[] d = (long[]) dst; for (int i = 0; i < n; i++) d[dstStart + i] = s[idx[i]]; }
    }

    /** Rounds compute results to fp32 first when the output is a 32-bit-or-narrower float, as fp32 kernels do. */
    static void roundThroughFloat(DType out, double[] buf, int n) {
        if (out == DType.F64 || !out.isFloating()) return;
        for (int i = 0; i < n; i++) buf[i] = (float) buf[i];
    }
}
