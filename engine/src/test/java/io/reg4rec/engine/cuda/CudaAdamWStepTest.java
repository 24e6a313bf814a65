package io.reg4rec.engine.cuda;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assertClose;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;

/** The fused AdamW kernel against the CPU reference, over several steps and odd sizes. */
@Tag("gpu")
class CudaAdamWStepTest {
    @Test
    void matchesTheCpuReference() {
        assumeGpu();
        for (int n : new int[]{1, 7, 4097, 1_000_003}) {
            for (double wd : new double[]{0.0, 0.01}) {
                try (Scope scope = Scope.open()) {
                    Tensor cp = cpuRandom(DType.F32, n, -1, 1, n);
                    Tensor cm = Tensor.zeros(Device.CPU, DType.F32, n), cv = Tensor.zeros(Device.CPU, DType.F32, n);
                    Tensor gp = cp.to(GPU), gm = cm.to(GPU), gv = cv.to(GPU);
                    for (int t = 1; t <= 3; t++) {
                        Tensor g = cpuRandom(DType.F32, 1000L * n + t, -2, 2, n);
                        AdamWHyper h = new AdamWHyper(1e-3 * t, 0.9, 0.999, 1e-8, wd, t);
                        h.apply(cp, g, cm, cv);
                        h.apply(gp, g.to(GPU), gm, gv);
                    }
                    String what = "n " + n + ", wd " + wd + ": ";
                    assertClose(what + "m", cm.toFloatArray(), gm.toFloatArray(), 1e-6, 0);
                    assertClose(what + "v", cv.toFloatArray(), gv.toFloatArray(), 1e-6, 0);
                    assertClose(what + "p", cp.toFloatArray(), gp.toFloatArray(), 1e-6, 0);
                }
            }
        }
    }

    @Test
    void updatesAViewInsideALargerBuffer() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            int n = 1000;
            Tensor cp = cpuRandom(DType.F32, 5, -1, 1, n), g = cpuRandom(DType.F32, 6, -1, 1, n);
            Tensor gp = cp.to(GPU), gg = g.to(GPU);
            Tensor cm = Tensor.zeros(Device.CPU, DType.F32, n), cv = Tensor.zeros(Device.CPU, DType.F32, n);
            Tensor gm = cm.to(GPU), gv = cv.to(GPU);
            AdamWHyper h = new AdamWHyper(0.01, 0.9, 0.999, 1e-8, 0.1, 1);
            h.apply(cp.slice(0, 100, 300), g.slice(0, 100, 300), cm.slice(0, 100, 300), cv.slice(0, 100, 300));
            h.apply(gp.slice(0, 100, 300), gg.slice(0, 100, 300), gm.slice(0, 100, 300), gv.slice(0, 100, 300));
            assertClose("p", cp.toFloatArray(), gp.toFloatArray(), 1e-6, 0);
            assertClose("m", cm.toFloatArray(), gm.toFloatArray(), 1e-6, 0);
        }
    }
}
