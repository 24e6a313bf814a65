package io.reg4rec.engine.cuda;

import io.reg4rec.engine.MemoryStats;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The allocator's bookkeeping against a fake device with a fixed capacity (no GPU needed). */
class CachingAllocatorTest {
    /** Hands out distinct pointers until capacity is used up. */
    static final class FakeDevice implements CachingAllocator.DeviceMemory {
        final long capacity;
        long used;
        final List<Long> frees = new ArrayList<>();
        final java.util.IdentityHashMap<CUdeviceptr, Long> sizes = new java.util.IdentityHashMap<>();

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override
        public CUdeviceptr allocate(long bytes) {
            if (used + bytes > capacity) throw new OutOfMemory("CUDA_ERROR_OUT_OF_MEMORY", null);
            used += bytes;
            CUdeviceptr p = new CUdeviceptr();
            sizes.put(p, bytes);
            return p;
        }

        @Override
        public void free(CUdeviceptr pointer) {
            long b = sizes.remove(pointer);
            used -= b;
            frees.add(b);
        }

        @Override
        public long[] info() { return new long[]{capacity - used, capacity}; }
    }

    @Test
    void roundsSmallSizesTo512BytesAndLargeOnesTo2MiB() {
        assertEquals(0, CachingAllocator.roundSize(0));
        assertEquals(512, CachingAllocator.roundSize(1));
        assertEquals(512, CachingAllocator.roundSize(512));
        assertEquals(1024, CachingAllocator.roundSize(513));
        assertEquals(1 << 20, CachingAllocator.roundSize(1 << 20));
        assertEquals(2 << 20, CachingAllocator.roundSize((1 << 20) + 1));
        assertEquals(4 << 20, CachingAllocator.roundSize((3 << 20) - 5));
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.roundSize(-1));
    }

    @Test
    void reusesAReleasedBlockOfTheSameRoundedSize() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator("fake:0", dev);
        CachingAllocator.Block b1 = a.allocate(1000);
        a.release(b1);
        MemoryStats s = a.stats();
        assertEquals(0, s.inUseBytes());
        assertEquals(1024, s.cachedBytes());
        CachingAllocator.Block b2 = a.allocate(900);  // rounds to the same 1024 B
        assertSame(b1.pointer(), b2.pointer());
        s = a.stats();
        assertEquals(1, s.deviceAllocations());
        assertEquals(2, s.requests());
        assertEquals(1024, s.inUseBytes());
        assertEquals(0, s.cachedBytes());
        assertEquals(1, s.liveBlocks());
        CachingAllocator.Block b3 = a.allocate(2000);
        assertNotSame(b1.pointer(), b3.pointer());
        assertEquals(2, a.stats().deviceAllocations());
        assertEquals(1024 + 2048, a.stats().peakInUseBytes());
        a.release(b2);
        a.release(b3);
        assertEquals(0, a.stats().liveBlocks());
        assertEquals(1024 + 2048, a.stats().peakInUseBytes());
    }

    @Test
    void zeroByteRequestsNeverReachTheDevice() {
        FakeDevice dev = new FakeDevice(0);
        CachingAllocator a = new CachingAllocator("fake:0", dev);
        CachingAllocator.Block b = a.allocate(0);
        assertEquals(0, a.stats().deviceAllocations());
        assertEquals(1, a.stats().liveBlocks());
        a.release(b);
        assertEquals(0, a.stats().liveBlocks());
    }

    @Test
    void emptyCacheReturnsCachedBlocksToTheDevice() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator("fake:0", dev);
        a.release(a.allocate(3 << 20));
        a.release(a.allocate(100));
        assertEquals((4 << 20) + 512, a.stats().cachedBytes());
        a.emptyCache();
        assertEquals(0, a.stats().cachedBytes());
        assertEquals(0, dev.used);
        assertEquals(2, dev.frees.size());
    }

    @Test
    void outOfMemoryFlushesTheCacheOnceAndRetries() {
        FakeDevice dev = new FakeDevice(8 << 20);
        CachingAllocator a = new CachingAllocator("fake:0", dev);
        a.release(a.allocate(6 << 20));          // 6 MiB cached
        CachingAllocator.Block big = a.allocate(4 << 20);  // does not fit next to the cache
        assertEquals(0, a.stats().cachedBytes());
        assertEquals(4 << 20, a.stats().inUseBytes());
        a.release(big);
    }

    @Test
    void outOfMemoryAfterTheRetryNamesTheNumbers() {
        FakeDevice dev = new FakeDevice(8 << 20);
        CachingAllocator a = new CachingAllocator("fake:0", dev);
        CachingAllocator.Block held = a.allocate(2 << 20);
        a.release(a.allocate(512));
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> a.allocate(100L << 20));
        assertEquals(100L << 20, e.requestedBytes());
        assertEquals(2 << 20, e.inUseBytes());
        assertEquals(512, e.cachedBytes());
        assertTrue(e.getMessage().contains("requested 104,857,600 B"), e.getMessage());
        assertTrue(e.getMessage().contains("2,097,152 B in use"), e.getMessage());
        assertTrue(e.getMessage().contains("512 B cached"), e.getMessage());
        assertEquals(2 << 20, a.stats().inUseBytes());
        a.release(held);
    }

    @Test
    void releasingTwiceIsAnError() {
        CachingAllocator a = new CachingAllocator("fake:0", new FakeDevice(1 << 20));
        CachingAllocator.Block b = a.allocate(10);
        a.release(b);
        assertThrows(IllegalStateException.class, () -> a.release(b));
    }
}
