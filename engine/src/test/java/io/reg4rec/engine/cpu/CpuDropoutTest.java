package io.reg4rec.engine.cpu;

import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.CounterRng;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedDropout;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The fused dropout's CPU reference against the composed ops it replaces (rand, compare, scale, multiply). */
class CpuDropoutTest {
    private static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) io.reg4rec.engine.Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 4 - 2);
        return Tensor.of(Device.CPU, v, shape);
    }

    @Test
    void equalsTheComposedMaskBitForBit() {
        for (double p : new double[]{0.0, 0.1, 0.5, 0.9}) {
            try (Scope scope = Scope.open()) {
                Tensor x = random(3, 37, 41);
                long seed = CounterRng.mix(99, 7);
                Tensor mask = Tensor.rand(Device.CPU, DType.F32, seed, 37, 41).binary(BinaryOp.GE, p).mul(1.0 / (1.0 - p));
                float[] expected = x.mul(mask).toFloatArray();
                float[] actual = FusedDropout.apply(x, seed, p).toFloatArray();
                assertArrayEquals(expected, actual, "p = " + p);
            }
        }
    }

    @Test
    void keepsAboutOneMinusPAndReadsStridedViews() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(5, 64, 300);
            Tensor t = x.transpose(0, 1);   // a strided view: the mask follows the view's row-major order
            float[] fused = FusedDropout.apply(t, 11, 0.25).toFloatArray();
            float[] values = t.contiguous().toFloatArray();
            int kept = 0;
            float scale = (float) (1.0 / 0.75);
            for (int i = 0; i < fused.length; i++) {
                boolean keep = CounterRng.uniform(11, i) >= 0.25;
                assertEquals(values[i] * (keep ? scale : 0f), fused[i], 0f, "element " + i);
                if (keep) kept++;
            }
            assertEquals(0.75, kept / (double) fused.length, 0.01);
        }
    }

    @Test
    void bf16AndF64FollowTheStatedRounding() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(8, 1000);
            Tensor xb = x.to(DType.BF16), xd = x.to(DType.F64);
            float[] b = FusedDropout.apply(xb, 4, 0.3).toFloatArray();
            double[] d = (double[]) FusedDropout.apply(xd, 4, 0.3).toHost();
            float[] xbv = xb.toFloatArray();
            double[] xdv = (double[]) xd.toHost();
            for (int i = 0; i < 1000; i++) {
                boolean keep = CounterRng.uniform(4, i) >= 0.3;
                float expectedB;
                try (Tensor one = Tensor.of(Device.CPU, new float[]{xbv[i] * (keep ? (float) (1 / 0.7) : 0f)}, 1); Tensor r = one.to(DType.BF16)) {
                    expectedB = r.toFloatArray()[0];
                }
                assertEquals(expectedB, b[i], 0f, "bf16 element " + i);
                assertEquals(xdv[i] * (keep ? 1 / 0.7 : 0.0), d[i], 0.0, "f64 element " + i);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(1, 4);
            assertThrows(IllegalArgumentException.class, () -> FusedDropout.apply(x, 1, 1.0));
            assertThrows(IllegalArgumentException.class, () -> FusedDropout.apply(x, 1, -0.1));
            assertThrows(IllegalArgumentException.class, () -> FusedDropout.apply(Tensor.arange(Device.CPU, 4), 1, 0.1));
        }
    }

    @Test
    void withAResidualAddsInFp32() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(12, 9, 70), r = random(13, 9, 70);
            float[] fused = FusedDropout.apply(x, r.transpose(0, 1).contiguous().transpose(0, 1), 5, 0.3).toFloatArray();
            float[] alone = FusedDropout.apply(x, 5, 0.3).toFloatArray(), rv = r.toFloatArray();
            for (int i = 0; i < fused.length; i++) assertEquals(rv[i] + alone[i], fused[i], 0f, "element " + i);
            assertThrows(IllegalArgumentException.class, () -> FusedDropout.apply(x, random(14, 70, 9), 5, 0.3));
        }
    }

    @Test
    void withABiasAddsItToXFirst() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(15, 6, 33), b = random(16, 33), r = random(17, 6, 33);
            float[] expected = FusedDropout.apply(x.add(b), r, 8, 0.2).toFloatArray();
            assertArrayEquals(expected, FusedDropout.apply(x, b, r, 8, 0.2).toFloatArray());
            assertArrayEquals(x.add(b).add(r).toFloatArray(), FusedDropout.apply(x, b, r, 8, 0.0).toFloatArray(), "p = 0 keeps everything");
            assertThrows(IllegalArgumentException.class, () -> FusedDropout.apply(x, random(18, 6), r, 8, 0.2));
        }
    }
}
