package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class CpuMemoryTest {
    @Test
    void statsTrackAllocationAndRelease() {
        Backend cpu = Engine.backend(CPU);
        MemoryStats before = cpu.memoryStats();
        Tensor t = Tensor.zeros(CPU, DType.F64, 1000);
        MemoryStats during = cpu.memoryStats();
        assertEquals(before.inUseBytes() + 8000, during.inUseBytes());
        assertEquals(before.liveBlocks() + 1, during.liveBlocks());
        assertTrue(during.peakInUseBytes() >= during.inUseBytes());
        assertEquals(during.requests(), during.deviceAllocations());
        assertEquals(0, during.cachedBytes());
        Tensor view = t.slice(0, 10, 20);
        t.close();
        assertEquals(during.inUseBytes(), cpu.memoryStats().inUseBytes(), "a live view keeps the storage");
        view.close();
        assertEquals(before.inUseBytes(), cpu.memoryStats().inUseBytes());
        assertEquals(before.liveBlocks(), cpu.memoryStats().liveBlocks());
    }

    @Test
    void scopeReleasesEverythingButKeptTensors() {
        Backend cpu = Engine.backend(CPU);
        long start = cpu.memoryStats().inUseBytes();
        Tensor kept;
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.rand(CPU, DType.F32, 1, 64, 64);
            Tensor b = a.matmul(a).relu().softmax(1);
            kept = b.sum(1, false).keep();
            assertTrue(scope.size() > 3);
        }
        assertEquals(start + 64 * 4, cpu.memoryStats().inUseBytes());
        assertFalse(kept.isClosed());
        kept.close();
        assertEquals(start, cpu.memoryStats().inUseBytes());
    }

    @Test
    void useAfterCloseThrowsIllegalState() {
        Tensor t = Tensor.ones(CPU, DType.F32, 3);
        Tensor v = t.reshape(3);
        t.close();
        t.close(); // idempotent
        assertThrows(IllegalStateException.class, t::toHost);
        assertThrows(IllegalStateException.class, () -> t.add(1));
        assertThrows(IllegalStateException.class, () -> t.matmul(t));
        assertArrayEquals(new float[]{1, 1, 1}, (float[]) v.toHost(), "the view still holds the storage");
        Storage s = v.storage();
        v.close();
        assertTrue(s.isReleased());
        assertThrows(IllegalStateException.class, () -> ((CpuStorage) s).array());
        assertThrows(IllegalStateException.class, v::exp);
        assertThrows(IllegalStateException.class, () -> CpuBackend.instance().copyFromHost(new float[3], s));
    }

    @Test
    void oversizedTensorsAreRejectedWithTheSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.empty(CPU, DType.F32, 65536, 65536));
        assertTrue(e.getMessage().contains("4294967296"), e.getMessage());
    }
}
