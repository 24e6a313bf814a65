package io.reg4rec.engine.cuda;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.Backend;
import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.Fp8;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.MemoryStats;
import io.reg4rec.engine.ReduceOp;
import io.reg4rec.engine.Storage;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.UnaryOp;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
import static jcuda.driver.CUstream_flags.CU_STREAM_NON_BLOCKING;
import static jcuda.driver.JCudaDriver.*;

/**
 * The CUDA backend for one device, over the JCuda driver API: the device's primary context
 * (made current on each calling thread as needed), one non-blocking stream on which every copy,
 * kernel and GEMM of this device runs (so ordering needs no events), a {@link CachingAllocator},
 * the kernel fatbins of the kernels module, and {@link CudaGemm} for matmul.
 *
 * <p>Work is asynchronous: only {@link #copyToHost} and {@link #synchronize} wait for the stream.
 * Kernels cannot throw: an out-of-range gather / scatter-add index or an integer division by
 * zero is recorded on the device and reported at the next synchronisation (copyToHost,
 * synchronize) as an {@link IndexOutOfBoundsException} or {@link ArithmeticException}.
 * F64 tensors are rejected before any launch.
 */
public final class CudaBackend implements Backend {
    private static final int BLOCK = 256;
    /** Blocks a reduction aims to keep busy before it splits the reduced axis (see chunksFor). */
    private static final long REDUCE_TASKS = 1024;

    private static final Object INIT_LOCK = new Object();
    private static boolean probed;
    private static int deviceCount;
    private static String unavailable = "not probed yet";
    private static CudaBackend[] backends;
    /** The backend whose context this thread made current last (saves a driver call per op). */
    private static final ThreadLocal<CudaBackend> CURRENT = new ThreadLocal<>();

    private final Device device;
    private final String deviceName;
    private final int smCount;
    private final int computeCapability;
    private final CUcontext context;
    private final CUstream stream;
    private final CachingAllocator allocator;
    private final KernelModules kernels;
    private final CudaGemm gemm;
    /** {kind, detail, detail} reported by kernels that cannot throw (common.cuh: report_device_error). */
    private final CUdeviceptr deviceErrors;
    private volatile boolean deviceErrorsPossible;
    private static final long DEVICE_ERROR_INDEX = 1, DEVICE_ERROR_INT_DIV_ZERO = 2;

    // ---------------------------------------------------------------- static API

    /** True when the CUDA driver loads and reports at least one device; never throws. */
    public static boolean isAvailable() {
        try {
            probe();
            return deviceCount > 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Why CUDA is not available (or "available" when it is). */
    public static String unavailableReason() {
        try {
            probe();
            return deviceCount > 0 ? "available" : unavailable;
        } catch (Throwable t) {
            return t.toString();
        }
    }

    /** The backend of CUDA device {@code index}, created on first use. */
    public static Backend get(int index) {
        return device(index);
    }

    /** Like {@link #get} with the concrete type, for CUDA-specific calls (stream, allocator, GEMM choice). */
    public static CudaBackend device(int index) {
        probe();
        synchronized (INIT_LOCK) {
            if (deviceCount == 0) throw new IllegalStateException("CUDA device " + index + " is not available: " + unavailable);
            if (index < 0 || index >= deviceCount) {
                throw new IllegalArgumentException("CUDA device " + index + " does not exist: " + deviceCount + " device(s) present");
            }
            if (backends[index] == null) backends[index] = new CudaBackend(index);
            return backends[index];
        }
    }

    private static void probe() {
        synchronized (INIT_LOCK) {
            if (probed) return;
            probed = true;
            try {
                JCudaDriver.setExceptionsEnabled(true);
                check(cuInit(0), "cuInit");
                int[] count = new int[1];
                check(cuDeviceGetCount(count), "cuDeviceGetCount");
                deviceCount = count[0];
                backends = new CudaBackend[deviceCount];
                if (deviceCount == 0) unavailable = "the CUDA driver reports no devices";
            } catch (Throwable t) {
                deviceCount = 0;
                unavailable = "the CUDA driver could not be used (" + NativeErrors.summarize(t) + ")";
            }
        }
    }

    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(call + " failed: " + CUresult.stringFor(result));
    }

    // ---------------------------------------------------------------- construction

    private CudaBackend(int index) {
        device = Device.cuda(index);
        CUdevice dev = new CUdevice();
        check(cuDeviceGet(dev, index), "cuDeviceGet");
        byte[] name = new byte[256];
        check(cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        deviceName = new String(name, 0, len, StandardCharsets.US_ASCII);
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "cuDeviceGetAttribute");
        smCount = v[0];
        check(cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
        int major = v[0];
        check(cuDeviceGetAttribute(v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
        computeCapability = major * 10 + v[0];
        context = new CUcontext();
        check(cuDevicePrimaryCtxRetain(context, dev), "cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        CURRENT.set(this);
        stream = new CUstream();
        check(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        allocator = new CachingAllocator(device.toString(), new DriverMemory());
        kernels = new KernelModules(this);
        gemm = new CudaGemm(this);
        deviceErrors = new CUdeviceptr();
        check(cuMemAlloc(deviceErrors, 3 * Long.BYTES), "cuMemAlloc");
        check(cuMemsetD8Async(deviceErrors, (byte) 0, 3 * Long.BYTES, stream), "cuMemsetD8Async");
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** cuMemAlloc / cuMemFree in this device's context. */
    private final class DriverMemory implements CachingAllocator.DeviceMemory {
        @Override
        public CUdeviceptr allocate(long bytes) {
            makeCurrent();
            CUdeviceptr p = new CUdeviceptr();
            try {
                check(cuMemAlloc(p, bytes), "cuMemAlloc");
            } catch (CudaException e) {
                if (String.valueOf(e.getMessage()).contains("CUDA_ERROR_OUT_OF_MEMORY")) throw new OutOfMemory(e.getMessage(), e);
                throw e;
            }
            return p;
        }

        @Override
        public void free(CUdeviceptr pointer) {
            makeCurrent();
            // Cached blocks may still be read by queued kernels; cuMemFree waits for the device.
            check(cuMemFree(pointer), "cuMemFree");
        }

        @Override
        public long[] info() {
            try {
                makeCurrent();
                long[] free = new long[1], total = new long[1];
                check(cuMemGetInfo(free, total), "cuMemGetInfo");
                return new long[]{free[0], total[0]};
            } catch (RuntimeException e) {
                return null;
            }
        }
    }

    // ---------------------------------------------------------------- CUDA-specific accessors

    /** Makes this device's primary context current on the calling thread. */
    public void makeCurrent() {
        if (CURRENT.get() != this) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
        }
    }

    public CUstream stream() { return stream; }

    public String deviceName() { return deviceName; }

    public int multiprocessorCount() { return smCount; }

    /** Compute capability as major * 10 + minor (90 on H100 / H200). */
    public int computeCapability() { return computeCapability; }

    public CachingAllocator allocator() { return allocator; }

    public CudaGemm gemm() { return gemm; }

    /** Returns cached blocks to the driver (after waiting for queued work). */
    public void emptyCache() {
        synchronize();
        allocator.emptyCache();
    }

    /** The device address of a tensor's first element (storage base plus offset). */
    CUdeviceptr pointer(Tensor t) {
        Storage s = t.storage();
        if (!(s instanceof CudaStorage cs)) throw new IllegalArgumentException("tensor " + t.describe() + " on " + t.device() + " is not on " + device);
        if (cs.device().index() != device.index()) throw new IllegalArgumentException("tensor " + t.describe() + " is on " + cs.device() + ", not " + device);
        CUdeviceptr base = cs.pointer();
        long offsetBytes = t.offset() * t.dtype().byteSize();
        return offsetBytes == 0 ? base : base.withByteOffset(offsetBytes);
    }

    KernelLaunch kernel(String module, String function) {
        makeCurrent();
        return KernelLaunch.of(function, kernels.function(module, function));
    }

    /** A 1-D grid for n elements handled by grid-stride loops: enough blocks to fill the device. */
    private long gridFor(long n) {
        long blocks = (n + BLOCK - 1) / BLOCK;
        return Math.max(1, Math.min(blocks, (long) smCount * 32));
    }

    private static String suffix(DType t, String op) {
        return switch (t) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F8E4M3 -> "e4m3";
            case F8E5M2 -> "e5m2";
            case I32 -> "i32";
            case I64 -> "i64";
            case F64 -> throw new UnsupportedOperationException(op + ": F64 is not supported on CUDA (it exists for the CPU reference and gradient checks); use F32");
        };
    }

    // ---------------------------------------------------------------- Backend

    @Override
    public Device device() { return device; }

    @Override
    public Storage allocate(DType dtype, long numel) {
        suffix(dtype, "allocate");
        if (numel < 0) throw new IllegalArgumentException("allocate: negative element count " + numel);
        long bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        return new CudaStorage(this, dtype, numel, allocator.allocate(bytes));
    }

    @Override
    public void copyFromHost(Object hostArray, Storage dst) {
        DType t = dst.dtype();
        suffix(t, "copyFromHost");
        if (hostArray.getClass() != t.hostArrayType()) {
            throw new IllegalArgumentException("copyFromHost: a " + t + " storage needs a " + t.hostArrayType().getSimpleName() + ", got " + hostArray.getClass().getSimpleName());
        }
        int length = java.lang.reflect.Array.getLength(hostArray);
        if (length > dst.numel()) throw new IllegalArgumentException("copyFromHost: " + length + " elements do not fit a storage of " + dst.numel());
        if (length == 0) return;
        if (!(dst instanceof CudaStorage cs)) throw new IllegalArgumentException("copyFromHost: storage on " + dst.device() + " is not on " + device);
        makeCurrent();
        long bytes = (long) length * t.byteSize();
        // From pageable memory the driver stages the data before returning, so the Java array
        // may move or change afterwards; the copy is ordered on this device's stream.
        check(cuMemcpyHtoDAsync(cs.pointer(), hostPointer(hostArray), bytes, stream), "cuMemcpyHtoDAsync");
    }

    private static Pointer hostPointer(Object array) {
        if (array instanceof float[] a) return Pointer.to(a);
        if (array instanceof short[] a) return Pointer.to(a);
        if (array instanceof byte[] a) return Pointer.to(a);
        if (array instanceof int[] a) return Pointer.to(a);
        if (array instanceof long[] a) return Pointer.to(a);
        if (array instanceof double[] a) return Pointer.to(a);
        throw new IllegalArgumentException("not a primitive host array: " + array.getClass());
    }

    @Override
    public Object copyToHost(Tensor src) {
        DType t = src.dtype();
        suffix(t, "copyToHost");
        long n = src.numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("copyToHost: " + src.describe() + " has " + n + " elements, more than a Java array holds");
        Object host = t.newHostArray((int) n);
        if (n == 0) {
            synchronize();
            return host;
        }
        makeCurrent();
        long bytes = n * t.byteSize();
        if (src.isContiguous()) {
            check(cuMemcpyDtoHAsync(hostPointer(host), pointer(src), bytes, stream), "cuMemcpyDtoHAsync");
            synchronize();
        } else {
            Storage tmp = allocate(t, n);
            try {
                CUdeviceptr dst = ((CudaStorage) tmp).pointer();
                launchCast(src, dst, t, n);
                check(cuMemcpyDtoHAsync(hostPointer(host), dst, bytes, stream), "cuMemcpyDtoHAsync");
                synchronize();
            } finally {
                freeStorage(tmp);
            }
        }
        return host;
    }

    /** Releases a backend-internal temporary (never seen by a Tensor, so no reference count). */
    private void freeStorage(Storage s) {
        allocator.release(((CudaStorage) s).block());
    }

    @Override
    public void cast(Tensor src, Tensor dst) {
        String from = suffix(src.dtype(), "cast"), to = suffix(dst.dtype(), "cast");
        long n = dst.numel();
        if (src.numel() != n) throw new IllegalArgumentException("cast: " + src.describe() + " into " + dst.describe());
        if (n == 0) return;
        makeCurrent();
        if (src.dtype() == dst.dtype() && src.isContiguous()) {
            check(cuMemcpyDtoDAsync(pointer(dst), pointer(src), n * src.dtype().byteSize(), stream), "cuMemcpyDtoDAsync");
            LaunchStats.record("memcpyDtoD");
            return;
        }
        kernel("cast", "cast_" + from + "_" + to)
                .struct(StridedLayout.of("cast", src.shape(), src.strides()))
                .ptr(pointer(src)).ptr(pointer(dst)).i64(n)
                .launch(stream, gridFor(n), BLOCK);
    }

    private void launchCast(Tensor src, CUdeviceptr dst, DType to, long n) {
        kernel("cast", "cast_" + suffix(src.dtype(), "cast") + "_" + suffix(to, "cast"))
                .struct(StridedLayout.of("cast", src.shape(), src.strides()))
                .ptr(pointer(src)).ptr(dst).i64(n)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out) {
        String dt = suffix(x.dtype(), op.name());
        if (!x.dtype().isFloating() && op != UnaryOp.NEG && op != UnaryOp.ABS) {
            throw new IllegalArgumentException(op + " on CUDA: needs a floating tensor, got " + x.describe());
        }
        long n = out.numel();
        if (n == 0) return;
        kernel("elementwise", "unary_" + dt)
                .i32(op.ordinal())
                .struct(StridedLayout.of(op.name(), x.shape(), x.strides()))
                .ptr(pointer(x)).ptr(pointer(out)).i64(n)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        String dt = suffix(a.dtype(), op.name());
        if (op == BinaryOp.POW && !a.dtype().isFloating()) throw new IllegalArgumentException("POW on CUDA: needs floating tensors, got " + a.describe());
        long n = out.numel();
        if (n == 0) return;
        if (op == BinaryOp.DIV && !a.dtype().isFloating()) deviceErrorsPossible = true;
        kernel("elementwise", "binary_" + dt)
                .i32(op.ordinal())
                .struct(StridedLayout.of(op.name(), out.shape(), a.strides(), b.strides()))
                .ptr(pointer(a)).ptr(pointer(b)).ptr(pointer(out)).i64(n).ptr(deviceErrors)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        String dt = suffix(a.dtype(), op.name());
        if (op == BinaryOp.POW && !a.dtype().isFloating()) throw new IllegalArgumentException("POW on CUDA: needs a floating tensor, got " + a.describe());
        long n = out.numel();
        if (n == 0) return;
        // Integers use an integral scalar as a long; a fractional one makes them compute in fp64 and
        // truncate (the CPU reference's rule). Floats see the scalar rounded to fp32.
        boolean integral = scalar == Math.rint(scalar) && Math.abs(scalar) < 0x1p62;
        if (op == BinaryOp.DIV && !a.dtype().isFloating()) deviceErrorsPossible = true;
        kernel("elementwise", "scalar_" + dt)
                .i32(op.ordinal())
                .struct(StridedLayout.of(op.name(), a.shape(), a.strides()))
                .ptr(pointer(a)).f64(scalar).i64(integral ? (long) scalar : 0).i32(integral ? 1 : 0).i32(scalarFirst ? 1 : 0)
                .ptr(pointer(out)).i64(n).ptr(deviceErrors)
                .launch(stream, gridFor(n), BLOCK);
    }

    /** [outer, len, inner] around one axis of a shape. */
    private static long[] around(int[] shape, int axis) {
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
        return new long[]{outer, shape[axis], inner};
    }

    @Override
    public void reduce(ReduceOp op, Tensor x, int axis, Tensor out) {
        String dt = suffix(x.dtype(), op.name());
        if (!x.isContiguous()) throw new IllegalArgumentException(op + " on CUDA: input " + x.describe() + " must be contiguous");
        long[] oli = around(x.shape(), axis);
        long outer = oli[0], len = oli[1], inner = oli[2];
        if (outer * inner == 0) return;
        if (len == 0 && op != ReduceOp.SUM) throw new IllegalArgumentException(op + ": cannot reduce an empty dimension " + axis + " of " + x.describe());
        if (inner == 1) {
            long chunks = chunksFor(outer, len, 8192, 4096);
            if (chunks == 1) {
                kernel("reduce", "reduce_rows_" + dt)
                        .i32(op.ordinal()).ptr(pointer(x)).ptr(pointer(out)).i64(outer).i64(len)
                        .launch(stream, Math.min(outer, (long) smCount * 64), BLOCK);
                return;
            }
            long chunkLen = (len + chunks - 1) / chunks;
            chunks = (len + chunkLen - 1) / chunkLen;
            CachingAllocator.Block vals = allocator.allocate(outer * chunks * accumulatorBytes(x.dtype()));
            CachingAllocator.Block idx = allocator.allocate(outer * chunks * Long.BYTES);
            try {
                kernel("reduce", "reduce_rows_partial_" + dt)
                        .i32(op.ordinal()).ptr(pointer(x)).ptr(vals.pointer()).ptr(idx.pointer()).i64(outer).i64(len).i64(chunks).i64(chunkLen)
                        .launch(stream, Math.min(outer * chunks, (long) smCount * 64), BLOCK);
                kernel("reduce", "reduce_rows_combine_" + dt)
                        .i32(op.ordinal()).ptr(vals.pointer()).ptr(idx.pointer()).ptr(pointer(out)).i64(outer).i64(chunks)
                        .launch(stream, Math.min(outer, (long) smCount * 64), BLOCK);
            } finally {
                // Later work on this stream runs after both kernels, so the blocks may be reused at once.
                allocator.release(vals);
                allocator.release(idx);
            }
        } else {
            long columnGroups = outer * ((inner + 31) / 32);
            long chunks = chunksFor(columnGroups, len, 512, 256);
            if (chunks == 1) {
                kernel("reduce", "reduce_cols_" + dt)
                        .i32(op.ordinal()).ptr(pointer(x)).ptr(pointer(out)).i64(outer).i64(len).i64(inner)
                        .launch(stream, Math.min(columnGroups, (long) smCount * 64), 1, 32, 8, 0);
                return;
            }
            long chunkLen = (len + chunks - 1) / chunks;
            chunks = (len + chunkLen - 1) / chunkLen;
            CachingAllocator.Block vals = allocator.allocate(outer * chunks * inner * accumulatorBytes(x.dtype()));
            CachingAllocator.Block idx = allocator.allocate(outer * chunks * inner * Long.BYTES);
            try {
                kernel("reduce", "reduce_cols_partial_" + dt)
                        .i32(op.ordinal()).ptr(pointer(x)).ptr(vals.pointer()).ptr(idx.pointer()).i64(outer).i64(len).i64(inner)
                        .i64(chunks).i64(chunkLen)
                        .launch(stream, Math.min(columnGroups * chunks, (long) smCount * 64), 1, 32, 8, 0);
                kernel("reduce", "reduce_cols_combine_" + dt)
                        .i32(op.ordinal()).ptr(vals.pointer()).ptr(idx.pointer()).ptr(pointer(out)).i64(outer).i64(chunks).i64(inner)
                        .launch(stream, Math.min(columnGroups, (long) smCount * 64), 1, 32, 8, 0);
            } finally {
                allocator.release(vals);
                allocator.release(idx);
            }
        }
    }

    /**
     * How many segments to cut the reduced axis into so that about {@link #REDUCE_TASKS} blocks
     * have work: 1 (one pass) when there are enough tasks already or the axis is short. Depends
     * only on the shape, so every GPU folds in the same order.
     */
    private static long chunksFor(long tasks, long len, long minLenToSplit, long minChunkLen) {
        if (tasks >= REDUCE_TASKS || len < minLenToSplit) return 1;
        long wanted = (REDUCE_TASKS + tasks - 1) / tasks;
        return Math.max(1, Math.min(wanted, (len + minChunkLen - 1) / minChunkLen));
    }

    private static long accumulatorBytes(DType t) {
        return t == DType.I32 ? Integer.BYTES : Long.BYTES;  // double for floats, the integer type otherwise
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor out) {
        suffix(a.dtype(), "matmul");
        suffix(b.dtype(), "matmul");
        suffix(out.dtype(), "matmul");
        gemm.matmul(a, transposeA, b, transposeB, out);
        recordGemm("matmul");
    }

    @Override
    public void gather(Tensor x, int axis, Tensor index, Tensor out) {
        suffix(x.dtype(), "gather");
        String it = indexSuffix(index, "gather");
        long n = out.numel();
        if (n == 0) return;
        int[] idxShape = index.shape();
        if (idxShape.length > StridedLayout.MAX_DIMS) throw new IllegalArgumentException("gather on CUDA: rank " + idxShape.length + " > " + StridedLayout.MAX_DIMS);
        deviceErrorsPossible = true;
        kernel("index", "gather_b" + x.dtype().byteSize() + "_" + it)
                .struct(StridedLayout.exact("gather", idxShape, x.strides(), index.strides()))
                .i32(axis).i64(x.size(axis))
                .ptr(pointer(x)).ptr(pointer(index)).ptr(pointer(out)).i64(n).ptr(deviceErrors)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src) {
        String dt = suffix(dst.dtype(), "scatterAdd");
        String it = indexSuffix(index, "scatterAdd");
        long n = index.numel();
        if (n == 0) return;
        int[] idxShape = index.shape();
        if (idxShape.length > StridedLayout.MAX_DIMS) throw new IllegalArgumentException("scatterAdd on CUDA: rank " + idxShape.length + " > " + StridedLayout.MAX_DIMS);
        deviceErrorsPossible = true;
        kernel("index", "scatter_add_" + dt + "_" + it)
                .struct(StridedLayout.exact("scatterAdd", idxShape, dst.strides(), index.strides(), src.strides()))
                .i32(axis).i64(dst.size(axis))
                .ptr(pointer(dst)).ptr(pointer(index)).ptr(pointer(src)).i64(n).ptr(deviceErrors)
                .launch(stream, gridFor(n), BLOCK);
    }

    private static String indexSuffix(Tensor index, String op) {
        return switch (index.dtype()) {
            case I32 -> "i32";
            case I64 -> "i64";
            default -> throw new IllegalArgumentException(op + ": index must be I32 or I64, got " + index.describe());
        };
    }

    @Override
    public void softmax(Tensor x, int axis, boolean log, Tensor out) {
        String dt = suffix(x.dtype(), log ? "logSoftmax" : "softmax");
        if (!x.dtype().isFloating()) throw new IllegalArgumentException((log ? "logSoftmax" : "softmax") + " on CUDA: needs a floating tensor, got " + x.describe());
        if (!x.isContiguous()) throw new IllegalArgumentException("softmax on CUDA: input " + x.describe() + " must be contiguous");
        long[] oli = around(x.shape(), axis);
        long outer = oli[0], len = oli[1], inner = oli[2];
        if (outer * len * inner == 0) return;
        if (inner == 1) {
            kernel("softmax", "softmax_rows_" + dt)
                    .ptr(pointer(x)).ptr(pointer(out)).i64(outer).i64(len).i32(log ? 1 : 0)
                    .launch(stream, Math.min(outer, (long) smCount * 64), BLOCK);
        } else {
            kernel("softmax", "softmax_cols_" + dt)
                    .ptr(pointer(x)).ptr(pointer(out)).i64(outer).i64(len).i64(inner).i32(log ? 1 : 0)
                    .launch(stream, gridFor(outer * inner), BLOCK);
        }
    }

    @Override
    public void fill(Tensor out, double value) {
        String dt = suffix(out.dtype(), "fill");
        if (!out.isContiguous()) throw new IllegalArgumentException("fill on CUDA: " + out.describe() + " must be contiguous");
        long n = out.numel();
        if (n == 0) return;
        long bits = switch (out.dtype()) {
            case F32 -> Float.floatToRawIntBits((float) value) & 0xFFFFFFFFL;
            case BF16 -> Bf16.fromDouble(value) & 0xFFFFL;
            case F8E4M3 -> Fp8.e4m3FromDouble(value) & 0xFFL;
            case F8E5M2 -> Fp8.e5m2FromDouble(value) & 0xFFL;
            case I32 -> (int) value & 0xFFFFFFFFL;
            case I64 -> (long) value;
            case F64 -> throw new AssertionError(dt);
        };
        kernel("fill", "fill_b" + out.dtype().byteSize())
                .ptr(pointer(out)).i64(bits).i64(n)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void random(Tensor out, Distribution distribution, long seed, double a, double b) {
        String dt = suffix(out.dtype(), "random");
        if (!out.dtype().isFloating()) throw new IllegalArgumentException("random on CUDA: dtype must be floating, got " + out.describe());
        if (!out.isContiguous()) throw new IllegalArgumentException("random on CUDA: " + out.describe() + " must be contiguous");
        long n = out.numel();
        if (n == 0) return;
        String fn = (distribution == Distribution.UNIFORM ? "random_uniform_" : "random_normal_") + dt;
        kernel("random", fn)
                .ptr(pointer(out)).i64(seed).f64(a).f64(b).i64(n)
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void adamwStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWHyper hyper) {
        long n = param.numel();
        float[] c = hyper.coefficients();
        kernel("adamw", "adamw_f32")
                .ptr(pointer(param)).ptr(pointer(grad)).ptr(pointer(m)).ptr(pointer(v)).i64(n)
                .f32(c[AdamWHyper.BETA1]).f32(c[AdamWHyper.ONE_MINUS_BETA1]).f32(c[AdamWHyper.BETA2]).f32(c[AdamWHyper.ONE_MINUS_BETA2])
                .f32(c[AdamWHyper.CORRECTION2]).f32(c[AdamWHyper.EPS]).f32(c[AdamWHyper.STEP_SIZE]).f32(c[AdamWHyper.DECAY])
                .launch(stream, gridFor(n), BLOCK);
    }

    @Override
    public void synchronize() {
        makeCurrent();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        if (deviceErrorsPossible) checkDeviceErrors();
    }

    private void checkDeviceErrors() {
        deviceErrorsPossible = false;
        long[] err = new long[3];
        check(cuMemcpyDtoHAsync(Pointer.to(err), deviceErrors, err.length * Long.BYTES, stream), "cuMemcpyDtoHAsync");
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        if (err[0] != 0) {
            check(cuMemsetD8Async(deviceErrors, (byte) 0, err.length * Long.BYTES, stream), "cuMemsetD8Async");
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            if (err[0] == DEVICE_ERROR_INT_DIV_ZERO) {
                throw new ArithmeticException("div on " + device + ": integer division by zero at element " + err[1]
                        + " (reported at the next synchronisation; the result holds 0 there)");
            }
            throw new IndexOutOfBoundsException("gather / scatterAdd on " + device + ": index " + err[1] + " out of range [0, " + err[2]
                    + ") (reported at the next synchronisation; that element was skipped)");
        }
    }

    @Override
    public MemoryStats memoryStats() { return allocator.stats(); }

    @Override
    public String toString() {
        return "CudaBackend[" + device + " " + deviceName + ", sm_" + computeCapability + ", " + smCount + " SMs]";
    }

    // ---- fused layer norm and cross-entropy

    @Override
    public void layerNormForward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd) {
        CudaLayerNorm.forward(this, x, gamma, beta, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut, Tensor gradX, Tensor gradGamma, Tensor gradBeta) {
        CudaLayerNorm.backward(this, x, gamma, mean, rstd, gradOut, gradX, gradGamma, gradBeta);
    }

    @Override
    public void crossEntropyForward(Tensor logits, Tensor targets, long ignoreIndex, double labelSmoothing, Tensor losses, Tensor logSumExp) {
        CudaCrossEntropy.forward(this, logits, targets, ignoreIndex, labelSmoothing, losses, logSumExp);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses, long ignoreIndex,
                                     double labelSmoothing, Tensor gradLogits) {
        CudaCrossEntropy.backward(this, logits, targets, logSumExp, gradLosses, ignoreIndex, labelSmoothing, gradLogits);
    }

    /** The buffer kernels report bad indices into; marks a check due at the next synchronisation. */
    CUdeviceptr deviceErrorReport() {
        deviceErrorsPossible = true;
        return deviceErrors;
    }

    // ---- attention

    private CudaAttention attention;

    private CudaAttention attention() {
        if (attention == null) attention = new CudaAttention(this);
        return attention;
    }

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor logSumExp) {
        attention().forward(q, k, v, keyPadding, causal, scale, out, logSumExp);
    }

    @Override
    public void attentionBackward(Tensor q, Tensor k, Tensor v, Tensor keyPadding, boolean causal, double scale, Tensor out, Tensor gradOut,
                                  Tensor logSumExp, Tensor gradQ, Tensor gradK, Tensor gradV) {
        attention().backward(q, k, v, keyPadding, causal, scale, out, gradOut, logSumExp, gradQ, gradK, gradV);
    }

    // ---- quantization, divergence, scaled casts

    @Override
    public void nearestCodeword(Tensor z, Tensor codebooks, Tensor indices, Tensor distances) {
        CudaQuantization.nearestCodeword(this, z, codebooks, indices, distances);
    }

    @Override
    public void codewordSum(Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        CudaQuantization.codewordSum(this, codebooks, indices, gates, out);
    }

    @Override
    public void codewordSumBackward(Tensor codebooks, Tensor indices, Tensor gates, Tensor gradOut, Tensor gradCodebooks, Tensor gradGates) {
        CudaQuantization.codewordSumBackward(this, codebooks, indices, gates, gradOut, gradCodebooks, gradGates);
    }

    @Override
    public void relaxedMatchCount(Tensor paths, Tensor items, Tensor counts) {
        CudaQuantization.relaxedMatchCount(this, paths, items, counts);
    }

    @Override
    public void jsDivergence(Tensor p, Tensor q, Tensor out) { CudaDivergence.jsDivergence(this, p, q, out); }

    @Override
    public void klDivergence(Tensor p, Tensor q, Tensor out) { CudaDivergence.klDivergence(this, p, q, out); }

    @Override
    public void jsDivergenceBackward(Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ) {
        CudaDivergence.jsDivergenceBackward(this, p, q, gradOut, gradP, gradQ);
    }

    @Override
    public void amax(Tensor x, Tensor out) { CudaScaledCast.amax(this, x, out); }

    @Override
    public void castScaled(Tensor src, Tensor dst, Tensor scale) { CudaScaledCast.castScaled(this, src, dst, scale); }

    // ---- own GEMM

    @Override
    public void matmulScaled(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor aScale, Tensor bScale, Tensor out) {
        gemm.matmulScaled(a, transposeA, b, transposeB, aScale, bScale, out);
        recordGemm("matmulScaled");
    }

    @Override
    public void matmulEpilogue(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor bias, boolean gelu, Tensor residual, Tensor out) {
        gemm.matmulEpilogue(a, transposeA, b, transposeB, bias, gelu, residual, out);
        recordGemm("matmulEpilogue");
    }

    /** A kernel's function handle, for attributes set before its launch (e.g. its shared-memory limit). */
    jcuda.driver.CUfunction function(String module, String name) {
        makeCurrent();
        return kernels.function(module, name);
    }

    // ---- train-step fusions

    /** A GEMM call for {@link LaunchStats}: the own GEMM's kernels are counted again by name at their launch. */
    private void recordGemm(String op) {
        LaunchStats.record(LaunchStats.enabled() ? "gemm:" + gemm.implementation().name().toLowerCase() + ":" + op : op);
    }

    /** Launch counts of every CUDA device since the last reset (see {@link LaunchStats}). */
    public static Map<String, Long> launchStats() { return LaunchStats.byName(); }

    @Override
    public void dropout(Tensor x, Tensor bias, Tensor residual, long seed, double p, Tensor out) {
        CudaDropout.apply(this, x, bias, residual, seed, p, out);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor g, boolean log, Tensor out) { CudaSoftmaxBackward.apply(this, y, g, log, out); }

    @Override
    public void adamwStepSegments(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper) {
        CudaAdamWSegments.apply(this, params, grads, m, v, hyper);
    }

    @Override
    public void biasGelu(Tensor x, Tensor bias, Tensor out) { CudaBiasGelu.apply(this, x, bias, null, out); }

    @Override
    public void biasGeluBackward(Tensor x, Tensor bias, Tensor gradOut, Tensor out) { CudaBiasGelu.apply(this, x, bias, gradOut, out); }

    // ---- top-k

    @Override
    public void topk(Tensor x, int k, Tensor values, Tensor indices) { CudaTopK.apply(this, x, k, values, indices); }

    // ---- gradient norm

    @Override
    public void sumOfSquaresSegments(Tensor[] xs, Tensor out) { CudaGradNorm.sumOfSquaresSegments(this, xs, out); }

    @Override
    public void adamwStepSegmentsClipped(Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper, Tensor sumOfSquares, double maxNorm) {
        CudaAdamWSegments.applyClipped(this, params, grads, m, v, hyper, sumOfSquares, maxNorm);
    }
}
