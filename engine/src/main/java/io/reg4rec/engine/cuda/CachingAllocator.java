package io.reg4rec.engine.cuda;

import io.reg4rec.engine.MemoryStats;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A caching device allocator. Sizes are rounded (512 B granularity up to 1 MiB, 2 MiB above) and
 * released blocks are kept in free lists keyed by that rounded size, so a training step that
 * allocates the same shapes every iteration stops calling the driver after the first one.
 *
 * <p>Reuse is safe without events because the backend runs all work on one stream: a block freed
 * by the host is only handed out again for work enqueued later on the same stream.
 *
 * <p>When the driver reports out of memory, the cache is returned to the driver once and the
 * request retried; a second failure throws {@link DeviceOutOfMemoryException}.
 */
public final class CachingAllocator {
    static final long SMALL_LIMIT = 1L << 20;
    static final long SMALL_GRANULE = 512;
    static final long LARGE_GRANULE = 2L << 20;

    /** The driver calls behind the cache (a fake in CPU-only unit tests). */
    public interface DeviceMemory {
        /** Allocates bytes; throws {@link OutOfMemory} when the device has no room. */
        CUdeviceptr allocate(long bytes);

        void free(CUdeviceptr pointer);

        /** Free and total device memory, for error messages; may return null. */
        long[] info();

        final class OutOfMemory extends RuntimeException {
            public OutOfMemory(String message, Throwable cause) { super(message, cause); }
        }
    }

    /** A device block of a rounded size. */
    public static final class Block {
        final CUdeviceptr pointer;
        final long size;
        boolean live;

        Block(CUdeviceptr pointer, long size) {
            this.pointer = pointer;
            this.size = size;
        }

        public CUdeviceptr pointer() { return pointer; }

        public long size() { return size; }
    }

    private final String deviceName;
    private final DeviceMemory memory;
    private final Map<Long, ArrayDeque<Block>> freeLists = new HashMap<>();
    private long inUseBytes, cachedBytes, peakInUseBytes, deviceAllocations, requests, liveBlocks;

    public CachingAllocator(String deviceName, DeviceMemory memory) {
        this.deviceName = deviceName;
        this.memory = memory;
    }

    /** The size a request of {@code bytes} occupies. */
    public static long roundSize(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation size " + bytes);
        if (bytes == 0) return 0;
        long granule = bytes <= SMALL_LIMIT ? SMALL_GRANULE : LARGE_GRANULE;
        long rounded = (bytes + granule - 1) / granule * granule;
        if (rounded < bytes) throw new IllegalArgumentException("allocation size " + bytes + " overflows");
        return rounded;
    }

    public synchronized Block allocate(long bytes) {
        long size = roundSize(bytes);
        requests++;
        Block block;
        if (size == 0) {
            block = new Block(new CUdeviceptr(), 0);
        } else {
            ArrayDeque<Block> list = freeLists.get(size);
            block = list == null ? null : list.poll();
            if (block != null) {
                cachedBytes -= size;
            } else {
                block = new Block(allocateFromDevice(bytes, size), size);
            }
        }
        block.live = true;
        liveBlocks++;
        inUseBytes += size;
        peakInUseBytes = Math.max(peakInUseBytes, inUseBytes);
        return block;
    }

    private CUdeviceptr allocateFromDevice(long bytes, long size) {
        CUdeviceptr p;
        try {
            p = memory.allocate(size);
        } catch (DeviceMemory.OutOfMemory first) {
            long cachedBefore = cachedBytes;
            emptyCacheLocked();
            try {
                p = memory.allocate(size);
            } catch (DeviceMemory.OutOfMemory second) {
                long[] info = memory.info();
                String device = info == null ? "" : String.format(Locale.ROOT, ", device reports %,d B free of %,d B", info[0], info[1]);
                throw new DeviceOutOfMemoryException(String.format(Locale.ROOT,
                        "%s out of memory: requested %,d B (rounded to %,d B) with %,d B in use in %d live blocks and %,d B cached"
                                + " (the cache was flushed and the allocation retried)%s",
                        deviceName, bytes, size, inUseBytes, liveBlocks, cachedBefore, device),
                        bytes, inUseBytes, cachedBefore, second);
            }
        }
        deviceAllocations++;
        return p;
    }

    /** Returns a block to the cache. */
    public synchronized void release(Block block) {
        if (!block.live) throw new IllegalStateException(deviceName + ": block of " + block.size + " B released twice");
        block.live = false;
        liveBlocks--;
        inUseBytes -= block.size;
        if (block.size == 0) return;
        freeLists.computeIfAbsent(block.size, s -> new ArrayDeque<>()).push(block);
        cachedBytes += block.size;
    }

    /** Hands every cached block back to the driver. */
    public synchronized void emptyCache() { emptyCacheLocked(); }

    private void emptyCacheLocked() {
        for (ArrayDeque<Block> list : freeLists.values()) {
            for (Block b : list) memory.free(b.pointer);
        }
        freeLists.clear();
        cachedBytes = 0;
    }

    public synchronized MemoryStats stats() {
        return new MemoryStats(inUseBytes, cachedBytes, peakInUseBytes, deviceAllocations, requests, liveBlocks);
    }
}
