package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Storage;

/** CPU storage: one Java array of {@link DType#hostArrayType()}; release drops it at once. */
public final class CpuStorage extends Storage {
    /** Largest array length the JVM reliably allocates. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final CpuBackend owner;
    private volatile Object array;

    CpuStorage(CpuBackend owner, DType dtype, long numel) {
        super(dtype, checkSize(dtype, numel));
        this.owner = owner;
        this.array = dtype.newHostArray((int) numel);
    }

    private static long checkSize(DType dtype, long numel) {
        if (numel < 0) throw new IllegalArgumentException("cpu allocate: negative size " + numel + " for " + dtype);
        if (numel > MAX_ELEMENTS) {
            throw new IllegalArgumentException("cpu allocate: " + numel + " elements of " + dtype
                    + " exceed the CPU backend's limit of " + MAX_ELEMENTS + " elements per tensor (one Java array)");
        }
        return numel;
    }

    @Override
    public Device device() { return Device.CPU; }

    /** The backing array; throws IllegalStateException once released. */
    public Object array() {
        Object a = array;
        if (a == null) throw new IllegalStateException("storage of " + numel() + " " + dtype() + " on cpu used after release");
        return a;
    }

    @Override
    protected void free() {
        array = null;
        owner.onFree(bytes());
    }
}
