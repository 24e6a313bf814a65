package io.reg4rec.engine;

/**
 * A snapshot of one device allocator. {@code inUseBytes} counts live tensors' storage, {@code
 * cachedBytes} freed blocks kept for reuse, {@code peakInUseBytes} the high-water mark,
 * {@code deviceAllocations} calls that reached the device's own allocator, {@code requests} all
 * allocations asked of this one, {@code liveBlocks} storages not yet released.
 */
public record MemoryStats(long inUseBytes, long cachedBytes, long peakInUseBytes,
                          long deviceAllocations, long requests, long liveBlocks) {
    @Override
    public String toString() {
        return String.format("in use %,d B in %d blocks, cached %,d B, peak %,d B, %d device allocations / %d requests",
                inUseBytes, liveBlocks, cachedBytes, peakInUseBytes, deviceAllocations, requests);
    }
}
