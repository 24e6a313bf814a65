package io.reg4rec.engine;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reference-counted block of elements owned by one backend. Tensors and their views retain it;
 * the last release hands the memory back to the backend's allocator at once (never the GC).
 */
public abstract class Storage {
    private final DType dtype;
    private final long numel;
    private final AtomicInteger refs = new AtomicInteger(1);

    protected Storage(DType dtype, long numel) {
        this.dtype = dtype;
        this.numel = numel;
    }

    public final DType dtype() { return dtype; }

    public final long numel() { return numel; }

    public final long bytes() { return numel * dtype.byteSize(); }

    public abstract Device device();

    public final boolean isReleased() { return refs.get() <= 0; }

    /** Whether exactly one tensor holds this storage. */
    final boolean hasSingleHolder() { return refs.get() == 1; }

    final void retain() {
        int r = refs.getAndIncrement();
        if (r <= 0) throw new IllegalStateException("storage of " + numel + " " + dtype + " on " + device() + " used after release");
    }

    final void release() {
        int r = refs.decrementAndGet();
        if (r == 0) free();
        else if (r < 0) throw new IllegalStateException("storage of " + numel + " " + dtype + " on " + device() + " released twice");
    }

    /** Returns the memory to the allocator; called exactly once. */
    protected abstract void free();
}
