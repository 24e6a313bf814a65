package io.reg4rec.engine.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.*;

/** Parameter marshalling of KernelLaunch (no device needed: nothing is launched). */
class KernelLaunchTest {
    @Test
    void scalarsAndStructsAreWrittenInNativeOrderIntoTheirSlots() {
        long[] struct = new long[33];
        for (int i = 0; i < struct.length; i++) struct[i] = 1000L * i - 7;
        KernelLaunch k = KernelLaunch.of("test", new CUfunction())
                .ptr(new CUdeviceptr().withByteOffset(4096)).i32(-5).i64(1L << 40).f32(1.5f).f64(-2.25).struct(struct);
        assertEquals(6, k.parameterCount());
        assertEquals(4096L, k.parameterBytes(0).getLong(0), "a device pointer is its address (base 0 plus the byte offset) in a slot");
        assertEquals(-5, k.parameterBytes(1).getInt(0));
        assertEquals(1L << 40, k.parameterBytes(2).getLong(0));
        assertEquals(1.5f, k.parameterBytes(3).getFloat(0));
        assertEquals(-2.25, k.parameterBytes(4).getDouble(0));
        ByteBuffer s = k.parameterBytes(5);
        for (int i = 0; i < struct.length; i++) assertEquals(struct[i], s.getLong(8 * i));
    }

    @Test
    void aBuilderInUseIsNotHandedOutAgain() {
        KernelLaunch outer = KernelLaunch.of("outer", new CUfunction()).i32(1);
        KernelLaunch inner = KernelLaunch.of("inner", new CUfunction()).i32(2);
        assertNotSame(outer, inner);
        assertEquals(1, outer.parameterBytes(0).getInt(0));
        assertEquals(2, inner.parameterBytes(0).getInt(0));
        // the outer one was abandoned (never launched): later requests still get a working builder
        KernelLaunch later = KernelLaunch.of("later", new CUfunction()).i64(3);
        assertEquals(1, later.parameterCount());
        assertEquals(3, later.parameterBytes(0).getLong(0));
    }

    @Test
    void tooManyParametersIsAClearError() {
        KernelLaunch k = KernelLaunch.of("many", new CUfunction());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            for (int i = 0; i < 100; i++) k.i32(i);
        });
        assertTrue(e.getMessage().contains("many"));
    }
}
