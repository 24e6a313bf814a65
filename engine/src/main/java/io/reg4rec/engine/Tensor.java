package io.reg4rec.engine;

import java.util.Arrays;
import java.util.Objects;

/**
 * An n-dimensional array on one device: a {@link Storage} seen through shape, strides (in
 * elements) and an offset. Views (reshape of contiguous data, slice, transpose, permute, expand)
 * share storage; everything else allocates a new contiguous tensor on the same device.
 *
 * <p>Memory is released by {@link #close()} or by the enclosing {@link Scope}, never by the GC.
 * A closed tensor throws on any use. Ops validate their arguments here, above the backends, and
 * name the op, shapes and dtypes at fault.
 */
public final class Tensor implements AutoCloseable {
    private final Backend backend;
    private final Storage storage;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private boolean closed;

    private Tensor(Backend backend, Storage storage, int[] shape, long[] strides, long offset) {
        this.backend = backend;
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        Scope.register(this);
    }

    // ---------------------------------------------------------------- creation

    /** An uninitialised contiguous tensor. */
    public static Tensor empty(Device device, DType dtype, int... shape) {
        int[] s = checkShape("empty", shape);
        Backend b = Engine.backend(device);
        return new Tensor(b, b.allocate(dtype, Shapes.numel(s)), s, Shapes.contiguousStrides(s), 0);
    }

    public static Tensor zeros(Device device, DType dtype, int... shape) {
        return full(device, dtype, 0.0, shape);
    }

    public static Tensor ones(Device device, DType dtype, int... shape) {
        return full(device, dtype, 1.0, shape);
    }

    public static Tensor full(Device device, DType dtype, double value, int... shape) {
        Tensor t = empty(device, dtype, shape);
        t.backend.fill(t, value);
        return t;
    }

    /** Copies a host array (its type must match dtype's host array type) into a new tensor. */
    public static Tensor fromHost(Device device, DType dtype, Object hostArray, int... shape) {
        Objects.requireNonNull(hostArray, "hostArray");
        if (hostArray.getClass() != dtype.hostArrayType()) {
            throw new IllegalArgumentException("fromHost: a " + dtype + " tensor needs a " + dtype.hostArrayType().getSimpleName()
                    + ", got " + hostArray.getClass().getSimpleName());
        }
        int[] s = checkShape("fromHost", shape);
        int length = java.lang.reflect.Array.getLength(hostArray);
        if (length != Shapes.numel(s)) {
            throw new IllegalArgumentException("fromHost: shape " + Arrays.toString(s) + " needs " + Shapes.numel(s)
                    + " elements, the array has " + length);
        }
        Tensor t = empty(device, dtype, s);
        t.backend.copyFromHost(hostArray, t.storage);
        return t;
    }

    public static Tensor of(Device device, float[] data, int... shape) { return fromHost(device, DType.F32, data, shape); }

    public static Tensor of(Device device, int[] data, int... shape) { return fromHost(device, DType.I32, data, shape); }

    public static Tensor of(Device device, long[] data, int... shape) { return fromHost(device, DType.I64, data, shape); }

    /** A rank-0 tensor holding one value. */
    public static Tensor scalar(Device device, DType dtype, double value) { return full(device, dtype, value); }

    /** 0, 1, ..., n-1 as I64. */
    public static Tensor arange(Device device, int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = i;
        return fromHost(device, DType.I64, v, n);
    }

    public static Tensor rand(Device device, DType dtype, long seed, int... shape) {
        return random(device, dtype, Distribution.UNIFORM, seed, 0, 1, shape);
    }

    public static Tensor randn(Device device, DType dtype, long seed, int... shape) {
        return random(device, dtype, Distribution.NORMAL, seed, 0, 1, shape);
    }

    /** Seeded random fill: the same seed gives the same values on every backend. */
    public static Tensor random(Device device, DType dtype, Distribution distribution, long seed, double a, double b, int... shape) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("random: dtype must be floating, got " + dtype);
        Tensor t = empty(device, dtype, shape);
        t.backend.random(t, distribution, seed, a, b);
        return t;
    }

    // ---------------------------------------------------------------- metadata

    public Device device() { return backend.device(); }

    public Backend backend() { return backend; }

    public DType dtype() { return storage.dtype(); }

    public int rank() { return shape.length; }

    public int[] shape() { return shape.clone(); }

    public int size(int dim) { return shape[Shapes.axis(dim, shape.length, "size")]; }

    public long[] strides() { return strides.clone(); }

    public long stride(int dim) { return strides[Shapes.axis(dim, shape.length, "stride")]; }

    public long offset() { return offset; }

    public long numel() { return Shapes.numel(shape); }

    /** The storage behind this tensor (shared by its views). Throws if released. */
    public Storage storage() {
        checkLive("storage");
        return storage;
    }

    public boolean isContiguous() { return Shapes.isContiguous(shape, strides); }

    public boolean isClosed() { return closed || storage.isReleased(); }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype() + " on " + device() + (isClosed() ? " (released)" : "");
    }

    /** Shape and dtype, for error messages. */
    public String describe() { return Arrays.toString(shape) + " " + dtype(); }

    // ---------------------------------------------------------------- lifetime

    /** Releases this tensor's hold on its storage; views keep theirs. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            storage.release();
        }
    }

    /** Moves this tensor out of the current {@link Scope} into its parent (or none). */
    public Tensor keep() {
        Scope.keep(this);
        return this;
    }

    /**
     * Takes this tensor out of every open {@link Scope}: no scope will close it, its holder must
     * (e.g. a parameter or its gradient, which outlive the training step's scope).
     */
    public Tensor unscoped() {
        Scope.untrack(this);
        return this;
    }

    private void checkLive(String op) {
        if (isClosed()) throw new IllegalStateException(op + ": tensor " + Arrays.toString(shape) + " " + dtype() + " on " + device() + " used after release");
    }

    private Tensor view(int[] newShape, long[] newStrides, long newOffset) {
        storage.retain();
        return new Tensor(backend, storage, newShape, newStrides, newOffset);
    }

    private Tensor like(DType dtype, int[] newShape) {
        int[] s = newShape.clone();
        return new Tensor(backend, backend.allocate(dtype, Shapes.numel(s)), s, Shapes.contiguousStrides(s), 0);
    }

    // ---------------------------------------------------------------- host and device transfer

    /** Row-major copy of the values to a host array of {@link DType#hostArrayType()}. */
    public Object toHost() {
        checkLive("toHost");
        return backend.copyToHost(this);
    }

    /** Values as floats, converting from any dtype. */
    public float[] toFloatArray() {
        checkLive("toFloatArray");
        if (dtype() == DType.F32) return (float[]) backend.copyToHost(this);
        try (Tensor f = to(DType.F32)) {
            return (float[]) f.backend.copyToHost(f);
        }
    }

    /** Values as longs, converting from any dtype (floats truncate). */
    public long[] toLongArray() {
        checkLive("toLongArray");
        if (dtype() == DType.I64) return (long[]) backend.copyToHost(this);
        try (Tensor l = to(DType.I64)) {
            return (long[]) l.backend.copyToHost(l);
        }
    }

    /** The single value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor " + describe() + " has " + numel() + " elements, not 1");
        if (dtype() == DType.F64) return ((double[]) toHost())[0]; // no detour through fp32
        return dtype().isFloating() ? toFloatArray()[0] : toLongArray()[0];
    }

    /** A copy on another device (the same tensor's copy even when already there). */
    public Tensor to(Device device) {
        checkLive("to");
        if (device.equals(device())) return contiguousCopy();
        Object host = backend.copyToHost(this);
        return fromHost(device, dtype(), host, shape);
    }

    /** A converted copy (see {@link Backend#cast} for rounding and saturation rules). */
    public Tensor to(DType dtype) {
        checkLive("to");
        Tensor out = like(dtype, shape);
        backend.cast(this, out);
        return out;
    }

    // ---------------------------------------------------------------- views

    /** This tensor if contiguous (as a new view), else a contiguous copy. */
    public Tensor contiguous() {
        checkLive("contiguous");
        return isContiguous() ? alias() : contiguousCopy();
    }

    private Tensor contiguousCopy() {
        Tensor out = like(dtype(), shape);
        backend.cast(this, out);
        return out;
    }

    /** Reshape, one dimension may be -1. A view when contiguous, otherwise a copy. */
    public Tensor reshape(int... newShape) {
        checkLive("reshape");
        int[] s = Shapes.inferReshape(shape, newShape);
        if (isContiguous()) return view(s, Shapes.contiguousStrides(s), offset);
        try (Tensor c = contiguousCopy()) {
            return c.view(s, Shapes.contiguousStrides(s), c.offset);
        }
    }

    public Tensor flatten() { return reshape(-1); }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int dim0, int dim1) {
        checkLive("transpose");
        int a = Shapes.axis(dim0, rank(), "transpose"), b = Shapes.axis(dim1, rank(), "transpose");
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b]; s[b] = shape[a];
        st[a] = strides[b]; st[b] = strides[a];
        return view(s, st, offset);
    }

    /** Reorders dimensions (a view): result dim i is this tensor's dim order[i]. */
    public Tensor permute(int... order) {
        checkLive("permute");
        if (order.length != rank()) throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " does not match rank " + rank() + " of " + describe());
        boolean[] seen = new boolean[rank()];
        int[] s = new int[rank()];
        long[] st = new long[rank()];
        for (int i = 0; i < order.length; i++) {
            int d = Shapes.axis(order[i], rank(), "permute");
            if (seen[d]) throw new IllegalArgumentException("permute: dimension " + d + " repeated in " + Arrays.toString(order));
            seen[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
        }
        return view(s, st, offset);
    }

    /** Elements [start, end) of one dimension (a view). */
    public Tensor slice(int dim, int start, int end) {
        checkLive("slice");
        int d = Shapes.axis(dim, rank(), "slice");
        if (start < 0 || end > shape[d] || start > end) {
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") out of range for dimension " + d + " of " + describe());
        }
        int[] s = shape.clone();
        s[d] = end - start;
        return view(s, strides.clone(), offset + start * strides[d]);
    }

    /** Index {@code i} of one dimension, removing that dimension (a view). */
    public Tensor select(int dim, int index) {
        int d = Shapes.axis(dim, rank(), "select");
        try (Tensor s = slice(d, index, index + 1)) {
            return s.squeeze(d);
        }
    }

    /** Inserts a dimension of size 1 (a view). */
    public Tensor unsqueeze(int dim) {
        checkLive("unsqueeze");
        int d = Shapes.axis(dim, rank() + 1, "unsqueeze");
        int[] s = new int[rank() + 1];
        long[] st = new long[rank() + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == d) { s[i] = 1; st[i] = (j < rank() ? strides[j] * shape[j] : 1); }
            else { s[i] = shape[j]; st[i] = strides[j]; j++; }
        }
        return view(s, st, offset);
    }

    /** Removes a dimension of size 1 (a view). */
    public Tensor squeeze(int dim) {
        checkLive("squeeze");
        int d = Shapes.axis(dim, rank(), "squeeze");
        if (shape[d] != 1) throw new IllegalArgumentException("squeeze: dimension " + d + " of " + describe() + " has size " + shape[d] + ", not 1");
        int[] s = new int[rank() - 1];
        long[] st = new long[rank() - 1];
        for (int i = 0, j = 0; i < rank(); i++) {
            if (i == d) continue;
            s[j] = shape[i]; st[j] = strides[i]; j++;
        }
        return view(s, st, offset);
    }

    /** Broadcasts to a larger shape with stride-0 dimensions (a view). */
    public Tensor expand(int... newShape) {
        checkLive("expand");
        return view(newShape.clone(), Shapes.broadcastStrides(shape, strides, newShape, "expand"), offset);
    }

    // ---------------------------------------------------------------- elementwise

    public Tensor unary(UnaryOp op) {
        checkLive(op.name().toLowerCase());
        if (!dtype().isFloating() && op != UnaryOp.NEG && op != UnaryOp.ABS) {
            throw new IllegalArgumentException(op + ": needs a floating tensor, got " + describe());
        }
        Tensor out = like(dtype(), shape);
        backend.unary(op, this, out);
        return out;
    }

    public Tensor neg() { return unary(UnaryOp.NEG); }
    public Tensor abs() { return unary(UnaryOp.ABS); }
    public Tensor exp() { return unary(UnaryOp.EXP); }
    public Tensor log() { return unary(UnaryOp.LOG); }
    public Tensor sqrt() { return unary(UnaryOp.SQRT); }
    public Tensor rsqrt() { return unary(UnaryOp.RSQRT); }
    public Tensor reciprocal() { return unary(UnaryOp.RECIPROCAL); }
    public Tensor tanh() { return unary(UnaryOp.TANH); }
    public Tensor sigmoid() { return unary(UnaryOp.SIGMOID); }
    public Tensor relu() { return unary(UnaryOp.RELU); }
    public Tensor gelu() { return unary(UnaryOp.GELU); }

    /** Elementwise op with NumPy broadcasting; both operands must share dtype and device. */
    public Tensor binary(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase();
        checkLive(name);
        other.checkLive(name);
        if (!other.device().equals(device())) {
            throw new IllegalArgumentException(name + ": tensors on different devices: " + describe() + " on " + device() + " and " + other.describe() + " on " + other.device());
        }
        if (other.dtype() != dtype()) throw new IllegalArgumentException(name + ": dtype mismatch " + describe() + " vs " + other.describe());
        if (op == BinaryOp.POW && !dtype().isFloating()) throw new IllegalArgumentException("pow: needs floating tensors, got " + describe());
        int[] outShape = Shapes.broadcast(shape, other.shape, name);
        Tensor out = like(dtype(), outShape);
        try (Tensor a = expand(outShape); Tensor b = other.expand(outShape)) {
            backend.binary(op, a, b, out);
        }
        return out;
    }

    public Tensor add(Tensor o) { return binary(BinaryOp.ADD, o); }
    public Tensor sub(Tensor o) { return binary(BinaryOp.SUB, o); }
    public Tensor mul(Tensor o) { return binary(BinaryOp.MUL, o); }
    public Tensor div(Tensor o) { return binary(BinaryOp.DIV, o); }
    public Tensor maximum(Tensor o) { return binary(BinaryOp.MAX, o); }
    public Tensor minimum(Tensor o) { return binary(BinaryOp.MIN, o); }
    public Tensor pow(Tensor o) { return binary(BinaryOp.POW, o); }

    /** op(this, s) elementwise. */
    public Tensor binary(BinaryOp op, double s) { return scalarOp(op, s, false); }

    /** op(s, this) elementwise. */
    public Tensor binaryReversed(BinaryOp op, double s) { return scalarOp(op, s, true); }

    private Tensor scalarOp(BinaryOp op, double s, boolean scalarFirst) {
        checkLive(op.name().toLowerCase());
        if (op == BinaryOp.POW && !dtype().isFloating()) throw new IllegalArgumentException("pow: needs a floating tensor, got " + describe());
        Tensor out = like(dtype(), shape);
        backend.binaryScalar(op, this, s, scalarFirst, out);
        return out;
    }

    public Tensor add(double s) { return binary(BinaryOp.ADD, s); }
    public Tensor sub(double s) { return binary(BinaryOp.SUB, s); }
    public Tensor mul(double s) { return binary(BinaryOp.MUL, s); }
    public Tensor div(double s) { return binary(BinaryOp.DIV, s); }
    public Tensor pow(double s) { return binary(BinaryOp.POW, s); }

    // ---------------------------------------------------------------- reductions

    /** Reduces along one axis; keepDim keeps it with size 1. */
    public Tensor reduce(ReduceOp op, int axis, boolean keepDim) {
        String name = op.name().toLowerCase();
        checkLive(name);
        int d = Shapes.axis(axis, rank(), name);
        if (shape[d] == 0 && op != ReduceOp.SUM) throw new IllegalArgumentException(name + ": cannot reduce an empty dimension " + d + " of " + describe());
        int[] kept = shape.clone();
        kept[d] = 1;
        DType outType = (op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN) ? DType.I64 : dtype();
        Tensor out = like(outType, kept);
        try (Tensor x = contiguous()) {
            backend.reduce(op, x, d, out);
        }
        if (keepDim) return out;
        try (out) {
            return out.squeeze(d);
        }
    }

    public Tensor sum(int axis, boolean keepDim) { return reduce(ReduceOp.SUM, axis, keepDim); }
    public Tensor max(int axis, boolean keepDim) { return reduce(ReduceOp.MAX, axis, keepDim); }
    public Tensor min(int axis, boolean keepDim) { return reduce(ReduceOp.MIN, axis, keepDim); }
    public Tensor argmax(int axis, boolean keepDim) { return reduce(ReduceOp.ARGMAX, axis, keepDim); }
    public Tensor argmin(int axis, boolean keepDim) { return reduce(ReduceOp.ARGMIN, axis, keepDim); }

    public Tensor mean(int axis, boolean keepDim) {
        int n = size(axis);
        try (Tensor s = sum(axis, keepDim)) {
            return s.div(n);
        }
    }

    /** Sum of all elements, as a rank-0 tensor. */
    public Tensor sumAll() {
        try (Tensor flat = reshape(-1)) {
            return flat.sum(0, false);
        }
    }

    // ---------------------------------------------------------------- matrix products

    /**
     * Matrix product of rank-2 or rank-3 operands ([m,k] or [batch,m,k] times [k,n] or
     * [batch,k,n]); a batch of 1 or a rank-2 side broadcasts. Transposed views are passed to the
     * backend as transpose flags, not copied.
     */
    public Tensor matmul(Tensor other) {
        checkLive("matmul");
        other.checkLive("matmul");
        if (!other.device().equals(device())) throw new IllegalArgumentException("matmul: tensors on different devices: " + device() + " and " + other.device());
        if (dtype() != other.dtype()) throw new IllegalArgumentException("matmul: dtype mismatch " + describe() + " vs " + other.describe());
        if (dtype() != DType.F32 && dtype() != DType.BF16 && dtype() != DType.F64) throw new IllegalArgumentException("matmul: supports F32, BF16 and (CPU only) F64, got " + describe());
        if (rank() < 2 || rank() > 3 || other.rank() < 2 || other.rank() > 3) {
            throw new IllegalArgumentException("matmul: operands must be rank 2 or 3, got " + describe() + " and " + other.describe());
        }
        int m = shape[rank() - 2], k = shape[rank() - 1];
        int k2 = other.shape[other.rank() - 2], n = other.shape[other.rank() - 1];
        if (k != k2) throw new IllegalArgumentException("matmul: inner dimensions differ: " + describe() + " x " + other.describe());
        int batchA = rank() == 3 ? shape[0] : 1, batchB = other.rank() == 3 ? other.shape[0] : 1;
        if (batchA != batchB && batchA != 1 && batchB != 1) {
            throw new IllegalArgumentException("matmul: batch sizes differ: " + describe() + " x " + other.describe());
        }
        int batch = Math.max(batchA, batchB);
        boolean rank2 = rank() == 2 && other.rank() == 2;
        Tensor out = like(dtype(), rank2 ? new int[]{m, n} : new int[]{batch, m, n});
        Tensor a3 = gemmOperand(batch), b3 = other.gemmOperand(batch);
        boolean ta = a3.strides[2] != 1, tb = b3.strides[2] != 1;
        try (a3; b3; Tensor a = ta ? a3.transpose(1, 2) : a3.alias(); Tensor b = tb ? b3.transpose(1, 2) : b3.alias();
             Tensor o3 = rank2 ? out.unsqueeze(0) : out.alias()) {
            if (out.numel() > 0) backend.matmul(a, ta, b, tb, o3);
        }
        return out;
    }

    /**
     * A rank-3 view [batch, rows, cols] of this operand laid out as GEMM needs it: unit stride in
     * one of the last two dimensions and a leading dimension that covers the other (else a copy).
     */
    private Tensor gemmOperand(int batch) {
        int[] s = rank() == 3 ? shape.clone() : new int[]{1, shape[0], shape[1]};
        long[] st = rank() == 3 ? strides.clone() : new long[]{0, strides[0], strides[1]};
        if (s[0] == 1 && batch > 1) { s[0] = batch; st[0] = 0; }
        if (s[2] == 1) st[2] = 1;
        if (s[1] == 1) st[1] = Math.max(st[1], s[2]);
        boolean rowMajor = st[2] == 1 && st[1] >= s[2];
        boolean colMajor = st[1] == 1 && st[2] >= s[1];
        if (rowMajor || colMajor) return view(s, st, offset);
        try (Tensor c = contiguousCopy()) {
            return c.gemmOperand(batch);
        }
    }

    private Tensor alias() { return view(shape.clone(), strides.clone(), offset); }

    // ---------------------------------------------------------------- indexing

    /** out[..i..] = this[..index[..i..]..] along axis; index is I32 or I64 and may be a broadcast view. */
    public Tensor gather(int axis, Tensor index) {
        checkLive("gather");
        index.checkLive("gather");
        int d = checkIndexOp("gather", axis, index, index.shape);
        Tensor out = like(dtype(), index.shape);
        if (out.numel() > 0) backend.gather(this, d, index, out);
        return out;
    }

    /** Rows of a matrix (or slices along axis 0) picked by a 1-D index: an embedding lookup. */
    public Tensor indexSelect(Tensor index) {
        if (index.rank() != 1) throw new IllegalArgumentException("indexSelect: index must be 1-D, got " + index.describe());
        int[] outShape = shape.clone();
        outShape[0] = index.shape[0];
        int[] idxShape = new int[rank()];
        Arrays.fill(idxShape, 1);
        idxShape[0] = index.shape[0];
        try (Tensor i = index.reshape(idxShape); Tensor e = i.expand(outShape)) {
            return gather(0, e);
        }
    }

    /** A copy of this tensor with src added at index positions along axis (this is not modified). */
    public Tensor scatterAdd(int axis, Tensor index, Tensor src) {
        checkLive("scatterAdd");
        Tensor out = contiguousCopy();
        out.scatterAddInPlace(axis, index, src);
        return out;
    }

    /** this[..index[..i..]..] += src[..i..] along axis, in place; this must be contiguous. */
    public void scatterAddInPlace(int axis, Tensor index, Tensor src) {
        checkLive("scatterAdd");
        index.checkLive("scatterAdd");
        src.checkLive("scatterAdd");
        if (!isContiguous()) throw new IllegalArgumentException("scatterAdd: destination " + describe() + " must be contiguous");
        if (src.dtype() != dtype()) throw new IllegalArgumentException("scatterAdd: dtype mismatch: destination " + describe() + ", source " + src.describe());
        if (!Arrays.equals(src.shape, index.shape)) throw new IllegalArgumentException("scatterAdd: source " + src.describe() + " and index " + index.describe() + " must have the same shape");
        int d = checkIndexOp("scatterAdd", axis, index, index.shape);
        if (index.numel() > 0) backend.scatterAdd(this, d, index, src);
    }

    private int checkIndexOp(String op, int axis, Tensor index, int[] idxShape) {
        if (!index.device().equals(device())) throw new IllegalArgumentException(op + ": index on " + index.device() + ", tensor on " + device());
        if (index.dtype() != DType.I64 && index.dtype() != DType.I32) throw new IllegalArgumentException(op + ": index must be I32 or I64, got " + index.describe());
        if (index.rank() != rank()) throw new IllegalArgumentException(op + ": index " + index.describe() + " must have the rank of " + describe());
        int d = Shapes.axis(axis, rank(), op);
        for (int i = 0; i < rank(); i++) {
            if (i != d && idxShape[i] > shape[i]) {
                throw new IllegalArgumentException(op + ": index " + index.describe() + " exceeds " + describe() + " in dimension " + i);
            }
        }
        return d;
    }

    // ---------------------------------------------------------------- softmax

    public Tensor softmax(int axis) { return softmax(axis, false); }

    public Tensor logSoftmax(int axis) { return softmax(axis, true); }

    private Tensor softmax(int axis, boolean log) {
        String name = log ? "logSoftmax" : "softmax";
        checkLive(name);
        if (!dtype().isFloating()) throw new IllegalArgumentException(name + ": needs a floating tensor, got " + describe());
        int d = Shapes.axis(axis, rank(), name);
        Tensor out = like(dtype(), shape);
        if (out.numel() > 0) {
            try (Tensor x = contiguous()) {
                backend.softmax(x, d, log, out);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- in place

    /** Sets every element (this must be contiguous). */
    public Tensor fill(double value) {
        checkLive("fill");
        if (!isContiguous()) throw new IllegalArgumentException("fill: tensor " + describe() + " must be contiguous");
        backend.fill(this, value);
        return this;
    }

    /** Copies src's values into this contiguous tensor (converting dtype; src may be on another device). */
    public void copyFrom(Tensor src) {
        checkLive("copyFrom");
        src.checkLive("copyFrom");
        if (!Arrays.equals(shape, src.shape)) throw new IllegalArgumentException("copyFrom: shape " + src.describe() + " into " + describe());
        if (!isContiguous()) throw new IllegalArgumentException("copyFrom: destination " + describe() + " must be contiguous");
        if (src.device().equals(device())) {
            backend.cast(src, this);
        } else {
            try (Tensor here = src.to(device())) {
                backend.cast(here, this);
            }
        }
    }

    private static int[] checkShape(String op, int[] shape) {
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException(op + ": negative dimension in shape " + Arrays.toString(shape));
        }
        return shape.clone();
    }

    // ---- train-step fusions

    /**
     * Whether this tensor is live, contiguous, spans its whole storage and is the storage's only
     * holder: no other tensor or view can see or change these elements, so a new owner may take
     * them without a copy.
     */
    public boolean holdsItsStorageAlone() {
        return !closed && offset == 0 && isContiguous() && numel() == storage.numel() && storage.hasSingleHolder();
    }

    // ---- top-k

    /**
     * The k largest elements along the last axis (rank >= 1), in descending order, and their
     * positions on that axis: values [..., k] of this dtype and indices [..., k] I32, leading
     * dimensions kept. Order and limits as {@link Backend#topk} (NaN ranks highest, ties by the
     * lower index); F32 and BF16, F64 on the CPU.
     */
    public TopK topk(int k) {
        checkLive("topk");
        if (rank() < 1) throw new IllegalArgumentException("topk: needs rank >= 1, got " + describe());
        int n = shape[rank() - 1];
        if (k < 1 || k > n || k > TopKChecks.MAX_K) {
            throw new IllegalArgumentException("topk: k = " + k + " must be in [1, min(n, " + TopKChecks.MAX_K + ")] for " + describe() + " (n = " + n + ")");
        }
        if (dtype() != DType.F32 && dtype() != DType.BF16 && dtype() != DType.F64) {
            throw new IllegalArgumentException("topk: supports F32, BF16 and (CPU only) F64, got " + describe());
        }
        int[] outShape = shape.clone();
        outShape[rank() - 1] = k;
        long rowCount = numel() / n;
        if (rowCount > Integer.MAX_VALUE) throw new IllegalArgumentException("topk: " + rowCount + " rows in " + describe() + " exceed " + Integer.MAX_VALUE);
        int rows = (int) rowCount;
        Tensor values = like(dtype(), outShape), indices = like(DType.I32, outShape);
        try (Tensor x = contiguous(); Tensor x2 = x.reshape(rows, n); Tensor v2 = values.reshape(rows, k); Tensor i2 = indices.reshape(rows, k)) {
            if (rows > 0) backend.topk(x2, k, v2, i2);
        } catch (RuntimeException e) {
            values.close();
            indices.close();
            throw e;
        }
        return new TopK(values, indices);
    }
}
