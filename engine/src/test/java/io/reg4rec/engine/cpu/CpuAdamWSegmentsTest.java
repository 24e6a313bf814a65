package io.reg4rec.engine.cpu;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedAdamW;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The segmented AdamW op equals adamwStep on each parameter with its slice of the moments, and checks its arguments. */
class CpuAdamWSegmentsTest {
    private static Tensor random(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(Device.CPU, v, n);
    }

    @Test
    void equalsOneAdamWStepPerSegment() {
        try (Scope scope = Scope.open()) {
            int[] sizes = {3, 0, 10, 1};
            Tensor[] p = new Tensor[4], q = new Tensor[4], g = new Tensor[4];
            for (int s = 0; s < 4; s++) {
                p[s] = random(s, sizes[s]);
                q[s] = p[s].to(Device.CPU);
                g[s] = random(10 + s, sizes[s]);
            }
            Tensor m = random(20, 14), v = random(21, 14).abs(), m2 = m.to(Device.CPU), v2 = v.to(Device.CPU);
            AdamWHyper h = new AdamWHyper(0.01, 0.9, 0.99, 1e-8, 0.1, 2);
            FusedAdamW.apply(p, g, m, v, h);
            int start = 0;
            for (int s = 0; s < 4; s++) {
                if (sizes[s] > 0) h.apply(q[s], g[s], m2.slice(0, start, start + sizes[s]), v2.slice(0, start, start + sizes[s]));
                start += sizes[s];
                assertArrayEquals(q[s].toFloatArray(), p[s].toFloatArray(), "param " + s);
            }
            assertArrayEquals(m2.toFloatArray(), m.toFloatArray());
            assertArrayEquals(v2.toFloatArray(), v.toFloatArray());
        }
    }

    @Test
    void rejectsMismatchedSegments() {
        try (Scope scope = Scope.open()) {
            Tensor p = random(1, 4), g = random(2, 4), m = random(3, 5), v = random(4, 5);
            AdamWHyper h = new AdamWHyper(0.01, 0.9, 0.99, 1e-8, 0, 1);
            assertThrows(IllegalArgumentException.class, () -> FusedAdamW.apply(new Tensor[]{p}, new Tensor[]{g}, m, v, h));
            assertThrows(IllegalArgumentException.class, () -> FusedAdamW.apply(new Tensor[]{p}, new Tensor[]{random(5, 3)}, m.slice(0, 0, 4), v.slice(0, 0, 4), h));
            assertThrows(IllegalArgumentException.class, () -> FusedAdamW.apply(new Tensor[]{p.to(DType.F64)}, new Tensor[]{g}, m.slice(0, 0, 4), v.slice(0, 0, 4), h));
        }
    }
}
