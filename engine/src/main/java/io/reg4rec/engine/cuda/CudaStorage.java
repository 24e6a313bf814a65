package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Storage;
import jcuda.driver.CUdeviceptr;

/** Device memory of one CUDA backend: a block from its caching allocator. */
public final class CudaStorage extends Storage {
    private final CudaBackend backend;
    private final CachingAllocator.Block block;

    CudaStorage(CudaBackend backend, DType dtype, long numel, CachingAllocator.Block block) {
        super(dtype, numel);
        this.backend = backend;
        this.block = block;
    }

    @Override
    public Device device() { return backend.device(); }

    /** The device address of element 0. Throws once the storage is released. */
    public CUdeviceptr pointer() {
        if (isReleased()) throw new IllegalStateException("storage of " + numel() + " " + dtype() + " on " + device() + " used after release");
        return block.pointer();
    }

    /** Bytes the block occupies in the allocator (the request rounded up). */
    public long blockBytes() { return block.size(); }

    CachingAllocator.Block block() { return block; }

    @Override
    protected void free() {
        backend.allocator().release(block);
    }
}
