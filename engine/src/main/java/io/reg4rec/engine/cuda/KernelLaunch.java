package io.reg4rec.engine.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUstream;

import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;

/**
 * Builds a kernel's parameter list from Java values and launches it. Each parameter is a host
 * pointer to the value's bytes, in declaration order, as cuLaunchKernel expects: a device
 * address, an int, a long long, a float, a double, or a struct of long longs (a long[] whose
 * layout matches the C struct: all 8-byte fields, so no padding).
 */
final class KernelLaunch {
    static final int MAX_GRID_X = Integer.MAX_VALUE;

    private final String name;
    private final CUfunction function;
    private final List<NativePointerObject> params = new ArrayList<>(12);

    KernelLaunch(String name, CUfunction function) {
        this.name = name;
        this.function = function;
    }

    KernelLaunch ptr(CUdeviceptr p) { params.add(Pointer.to(p)); return this; }

    KernelLaunch i32(int v) { params.add(Pointer.to(new int[]{v})); return this; }

    KernelLaunch i64(long v) { params.add(Pointer.to(new long[]{v})); return this; }

    KernelLaunch f32(float v) { params.add(Pointer.to(new float[]{v})); return this; }

    KernelLaunch f64(double v) { params.add(Pointer.to(new double[]{v})); return this; }

    /** A by-value struct made only of 64-bit fields. */
    KernelLaunch struct(long[] fields) { params.add(Pointer.to(fields)); return this; }

    /** Launches a 1-D grid on the stream. */
    void launch(CUstream stream, long gridX, int blockX) {
        launch(stream, gridX, 1, blockX, 1, 0);
    }

    void launch(CUstream stream, long gridX, int gridY, int blockX, int blockY, int sharedBytes) {
        if (gridX < 1 || gridX > MAX_GRID_X || gridY < 1 || gridY > 65535) {
            throw new IllegalArgumentException("kernel " + name + ": grid " + gridX + " x " + gridY + " out of range");
        }
        try {
            cuLaunchKernel(function, (int) gridX, gridY, 1, blockX, blockY, 1, sharedBytes, stream,
                    Pointer.to(params.toArray(new NativePointerObject[0])), null);
        } catch (RuntimeException e) {
            throw new IllegalStateException("launching kernel " + name + " (grid " + gridX + "x" + gridY + ", block " + blockX + "x"
                    + blockY + ") failed: " + e.getMessage(), e);
        }
    }
}
