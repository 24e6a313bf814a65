package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/** The caching allocator on a real device. */
@Tag("gpu")
class CudaMemoryTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    @Test
    void scopesReturnEveryByteAndBlock() {
        Backend b = Engine.backend(GPU);
        MemoryStats before = b.memoryStats();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.randn(GPU, DType.F32, 1, 1000, 33);
            Tensor y = x.mul(x).exp().sum(1, false);
            y.toFloatArray();
            assertTrue(b.memoryStats().inUseBytes() > before.inUseBytes());
            assertTrue(b.memoryStats().liveBlocks() > before.liveBlocks());
        }
        MemoryStats after = b.memoryStats();
        assertEquals(before.inUseBytes(), after.inUseBytes(), after.toString());
        assertEquals(before.liveBlocks(), after.liveBlocks(), after.toString());
        assertTrue(after.peakInUseBytes() >= before.inUseBytes() + 1000 * 33 * 4);
    }

    @Test
    void aSecondIdenticalAllocationComesFromTheCache() {
        Backend b = Engine.backend(GPU);
        Tensor.empty(GPU, DType.F32, 123457).close();  // ensures one block of this size is cached
        MemoryStats before = b.memoryStats();
        Tensor t = Tensor.empty(GPU, DType.F32, 123457);
        MemoryStats during = b.memoryStats();
        t.close();
        assertEquals(before.deviceAllocations(), during.deviceAllocations(), "no cuMemAlloc for a cached size");
        assertEquals(before.requests() + 1, during.requests());
        assertEquals(before.cachedBytes() - CachingAllocator.roundSize(123457L * 4), during.cachedBytes());
    }

    @Test
    void anAbsurdAllocationThrowsDeviceOutOfMemoryWithTheNumbers() {
        Backend b = Engine.backend(GPU);
        MemoryStats before = b.memoryStats();
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                () -> Tensor.empty(GPU, DType.I64, 1 << 20, 1 << 17));  // 1 TiB
        assertEquals(1L << 40, e.requestedBytes());
        assertTrue(e.getMessage().contains("1,099,511,627,776 B"), e.getMessage());
        assertTrue(e.getMessage().contains("in use") && e.getMessage().contains("cached"), e.getMessage());
        assertEquals(before.inUseBytes(), b.memoryStats().inUseBytes());
        assertEquals(before.liveBlocks(), b.memoryStats().liveBlocks());
        try (Tensor ok = Tensor.ones(GPU, DType.F32, 10)) {
            assertEquals(10f, ok.sumAll().item(), 0f);  // the device is still usable
        }
    }

    @Test
    void useAfterReleaseThrows() {
        Tensor t = Tensor.ones(GPU, DType.F32, 4);
        CudaStorage storage = (CudaStorage) t.storage();
        t.close();
        assertThrows(IllegalStateException.class, t::toFloatArray);
        assertThrows(IllegalStateException.class, () -> t.add(1));
        assertThrows(IllegalStateException.class, storage::pointer);
    }

    @Test
    void emptyCacheHandsCachedBlocksBack() {
        CudaBackend b = CudaBackend.device(0);
        Tensor.empty(GPU, DType.F32, 1 << 20).close();
        assertTrue(b.memoryStats().cachedBytes() > 0);
        b.emptyCache();
        assertEquals(0, b.memoryStats().cachedBytes());
    }

    @Test
    void tensorsBeyond2To31ElementsUse64BitOffsets() {
        int cols = (1 << 30) + 5;  // 2 x cols = 2^31 + 10 one-byte elements, 2 GiB per tensor
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.full(GPU, DType.F8E4M3, 1.0, 2, cols);
            Tensor y = x.neg();
            assertArrayEquals(new float[]{-1, -1, -1}, y.slice(1, cols - 3, cols).select(0, 1).toFloatArray());
            Tensor z = y.add(x.slice(0, 1, 2));  // broadcast over the first dimension
            assertArrayEquals(new float[]{0, 0}, z.slice(1, cols - 1, cols).flatten().toFloatArray());
            assertArrayEquals(new float[]{1, 1}, x.max(1, false).toFloatArray());
            assertArrayEquals(new long[]{0, 0}, y.argmax(1, false).toLongArray());
        }
    }
}
