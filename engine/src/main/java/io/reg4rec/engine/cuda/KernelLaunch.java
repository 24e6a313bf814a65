package io.reg4rec.engine.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;

/**
 * Builds a kernel's parameter list from Java values and launches it. Each parameter is a host
 * pointer to the value's bytes, in declaration order, as cuLaunchKernel expects: a device
 * address, an int, a long long, a float, a double, or a struct of long longs (a long[] whose
 * layout matches the C struct: all 8-byte fields, so no padding).
 *
 * <p>Per-launch host cost matters (a training step launches about a thousand kernels), so each
 * thread reuses one builder: scalars and structs are written into preallocated direct buffers in
 * native byte order (JCuda hands a direct buffer's address to the driver without the several JNI
 * calls a Java array needs; device addresses go into slots too), and the parameter array and
 * its Pointer are allocated once per parameter count. Reuse is safe because cuLaunchKernel copies the parameter values before it
 * returns. A builder in use (a launch being assembled) is never handed out twice: a nested
 * request, or the next one after a launch whose arguments threw, gets a fresh one.
 */
final class KernelLaunch {
    static final int MAX_GRID_X = Integer.MAX_VALUE;
    /** More than any kernel of the engine takes (the GEMM kernels take 13). */
    private static final int MAX_PARAMS = 24;
    /** Bytes of one value slot: the largest by-value struct (StridedLayout: 33 longs). */
    private static final int SLOT_BYTES = 8 * 40;

    private static final ThreadLocal<KernelLaunch> PER_THREAD = ThreadLocal.withInitial(KernelLaunch::new);

    private final ByteBuffer[] slots = new ByteBuffer[MAX_PARAMS];
    private final Pointer[] slotPointers = new Pointer[MAX_PARAMS];
    /** Parameter arrays by length, and the Pointer to each (what cuLaunchKernel receives). */
    private final NativePointerObject[][] paramsByCount = new NativePointerObject[MAX_PARAMS + 1][];
    private final Pointer[] paramPointerByCount = new Pointer[MAX_PARAMS + 1];
    private final NativePointerObject[] current = new NativePointerObject[MAX_PARAMS];

    private String name;
    private CUfunction function;
    private int count;
    private boolean inUse;

    private KernelLaunch() {
        for (int i = 0; i < MAX_PARAMS; i++) {
            slots[i] = ByteBuffer.allocateDirect(SLOT_BYTES).order(ByteOrder.nativeOrder());
            slotPointers[i] = Pointer.to(slots[i]);
        }
    }

    /** A builder for one launch of function (named for error messages), reusing this thread's when it is free. */
    static KernelLaunch of(String name, CUfunction function) {
        KernelLaunch k = PER_THREAD.get();
        if (k.inUse) {
            // Nested use, or a launch abandoned because an argument threw: the thread gets a new
            // builder and whoever holds the old one keeps it intact.
            k = new KernelLaunch();
            PER_THREAD.set(k);
        }
        k.inUse = true;
        k.name = name;
        k.function = function;
        k.count = 0;
        return k;
    }

    private int next() {
        if (count == MAX_PARAMS) {
            inUse = false;
            throw new IllegalStateException("kernel " + name + ": more than " + MAX_PARAMS + " parameters");
        }
        return count++;
    }

    /**
     * A device address, written into a slot like a long: every parameter is then a pointer to a
     * preallocated direct buffer, which JCuda hands over with one address lookup, where a
     * Pointer.to(CUdeviceptr) per launch cost an allocation and a nested pointer conversion.
     */
    KernelLaunch ptr(CUdeviceptr p) {
        int i = next();
        slots[i].putLong(0, DeviceAddress.of(p));
        current[i] = slotPointers[i];
        return this;
    }

    KernelLaunch i32(int v) {
        int i = next();
        slots[i].putInt(0, v);
        current[i] = slotPointers[i];
        return this;
    }

    KernelLaunch i64(long v) {
        int i = next();
        slots[i].putLong(0, v);
        current[i] = slotPointers[i];
        return this;
    }

    KernelLaunch f32(float v) {
        int i = next();
        slots[i].putFloat(0, v);
        current[i] = slotPointers[i];
        return this;
    }

    KernelLaunch f64(double v) {
        int i = next();
        slots[i].putDouble(0, v);
        current[i] = slotPointers[i];
        return this;
    }

    /** A by-value struct made only of 64-bit fields. */
    KernelLaunch struct(long[] fields) {
        int i = next();
        if (fields.length * 8 > SLOT_BYTES) {
            inUse = false;
            throw new IllegalArgumentException("kernel " + name + ": struct of " + fields.length + " longs exceeds " + SLOT_BYTES + " bytes");
        }
        ByteBuffer b = slots[i];
        for (int f = 0; f < fields.length; f++) b.putLong(f * 8, fields[f]);
        current[i] = slotPointers[i];
        return this;
    }

    /** The bytes parameter i points to (for tests: scalars and structs live in this builder's slots). */
    ByteBuffer parameterBytes(int i) {
        return current[i] == slotPointers[i] ? slots[i].duplicate().order(ByteOrder.nativeOrder()) : null;
    }

    int parameterCount() { return count; }

    /** Launches a 1-D grid on the stream. */
    void launch(CUstream stream, long gridX, int blockX) {
        launch(stream, gridX, 1, blockX, 1, 0);
    }

    void launch(CUstream stream, long gridX, int gridY, int blockX, int blockY, int sharedBytes) {
        try {
            if (gridX < 1 || gridX > MAX_GRID_X || gridY < 1 || gridY > 65535) {
                throw new IllegalArgumentException("kernel " + name + ": grid " + gridX + " x " + gridY + " out of range");
            }
            NativePointerObject[] params = paramsByCount[count];
            if (params == null) {
                params = paramsByCount[count] = new NativePointerObject[count];
                paramPointerByCount[count] = Pointer.to(params);
            }
            System.arraycopy(current, 0, params, 0, count);
            try {
                cuLaunchKernel(function, (int) gridX, gridY, 1, blockX, blockY, 1, sharedBytes, stream, paramPointerByCount[count], null);
                LaunchStats.record(name);
            } catch (RuntimeException e) {
                throw new IllegalStateException("launching kernel " + name + " (grid " + gridX + "x" + gridY + ", block " + blockX + "x"
                        + blockY + ") failed: " + e.getMessage(), e);
            }
        } finally {
            // drop references to device pointers so they do not outlive the launch
            java.util.Arrays.fill(current, 0, count, null);
            inUse = false;
        }
    }
}
