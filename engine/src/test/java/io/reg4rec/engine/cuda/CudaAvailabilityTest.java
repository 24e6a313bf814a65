package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.*;

/** Runs everywhere: without a GPU, CUDA must report itself unavailable and fail clearly. */
class CudaAvailabilityTest {
    @Test
    void availabilityNeverThrowsAndGetExplainsWhyCudaIsMissing() {
        boolean available = assertDoesNotThrow(Engine::cudaAvailable);
        String reason = CudaBackend.unavailableReason();
        assertNotNull(reason);
        assertFalse(reason.isBlank());
        if (!available) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> CudaBackend.get(0));
            assertTrue(e.getMessage().contains("not available"), e.getMessage());
            assertTrue(e.getMessage().contains(reason), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Engine.backend(Device.cuda(0)));
        } else {
            assertEquals(Device.cuda(0), CudaBackend.get(0).device());
            assertThrows(IllegalArgumentException.class, () -> CudaBackend.get(1000));
        }
    }

    @Test
    void kernelIndexListsEveryKernelFamilyWhenBuilt() throws Exception {
        KernelModules.Index index = KernelModules.Index.INSTANCE;
        try (InputStream in = getClass().getResourceAsStream(KernelModules.RESOURCE_DIR + "index.properties")) {
            assertNotNull(in, "the kernels module always writes index.properties");
            Properties p = new Properties();
            p.load(in);
            assertEquals(Boolean.parseBoolean(p.getProperty("built")), index.built);
        }
        if (!index.built) {
            assertTrue(index.problem.contains("not built"), index.problem);
            return;
        }
        for (String m : new String[]{"cast", "elementwise", "fill", "gemm", "index", "random", "reduce", "softmax"}) {
            assertTrue(index.modules.contains(m), "module " + m + " missing from " + index.modules);
            try (InputStream f = getClass().getResourceAsStream(KernelModules.RESOURCE_DIR + m + ".fatbin")) {
                assertNotNull(f, m + ".fatbin on the classpath");
                assertTrue(f.readAllBytes().length > 1000, m + ".fatbin is not empty");
            }
        }
    }
}
