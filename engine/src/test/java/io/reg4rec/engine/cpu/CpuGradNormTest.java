package io.reg4rec.engine.cpu;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedAdamW;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU reference of the gradient-norm ops: the sum of squares (in double, rounded once: it
 * must equal the exactly computed sum rounded to fp32 up to one fp32 ulp, the double sum's own
 * error being far below that) and the clipped segmented AdamW step (must equal, to the bit,
 * the gradients scaled in fp32 by the clip factor followed by the plain segmented step).
 */
class CpuGradNormTest {
    private static Tensor random(long seed, double scale, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return Tensor.of(Device.CPU, v, n);
    }

    /** The exact sum of squares (BigDecimal) rounded to the nearest fp32. */
    private static float exactSumOfSquares(Tensor... xs) {
        BigDecimal sum = BigDecimal.ZERO;
        for (Tensor x : xs) {
            for (float f : x.toFloatArray()) {
                BigDecimal b = new BigDecimal(f);
                sum = sum.add(b.multiply(b));
            }
        }
        return sum.floatValue();
    }

    @Test
    void sumOfSquaresOverSegmentsOfOddSizesIncludingEmptyOnes() {
        try (Scope scope = Scope.open()) {
            int[] sizes = {1, 0, 7, 1000, 0, 33, 4097};
            Tensor[] xs = new Tensor[sizes.length];
            for (int s = 0; s < sizes.length; s++) xs[s] = random(s, 3, sizes[s]);
            float expected = exactSumOfSquares(xs);
            Tensor out = Tensor.full(Device.CPU, DType.F32, 123, 1);   // the old value is ignored
            GradNorm.sumOfSquares(xs, out);
            float got = out.toFloatArray()[0];
            assertEquals(expected, got, Math.ulp(expected), "sum of squares");
            // deterministic: equal inputs, equal bits
            Tensor again = GradNorm.sumOfSquares(Device.CPU, xs);
            assertEquals(Float.floatToRawIntBits(got), Float.floatToRawIntBits(again.toFloatArray()[0]));
        }
    }

    @Test
    void viewsAreReadFromTheirOffsetAndNothingOrEmptyGivesZero() {
        try (Scope scope = Scope.open()) {
            Tensor big = Tensor.of(Device.CPU, new float[]{100, 1, 2, 3, 100}, 5);
            Tensor middle = big.slice(0, 1, 4);
            assertEquals(14f, GradNorm.sumOfSquares(Device.CPU, new Tensor[]{middle}).toFloatArray()[0]);
            assertEquals(0f, GradNorm.sumOfSquares(Device.CPU, new Tensor[0]).toFloatArray()[0]);
            Tensor empty = Tensor.zeros(Device.CPU, DType.F32, 0);
            Tensor out = Tensor.full(Device.CPU, DType.F32, 7, 1);
            GradNorm.sumOfSquares(new Tensor[]{empty, empty}, out);
            assertEquals(0f, out.toFloatArray()[0]);
        }
    }

    @Test
    void sumOfSquaresChecksItsArguments() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(1, 1, 6);
            Tensor out = Tensor.zeros(Device.CPU, DType.F32, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GradNorm.sumOfSquares(new Tensor[]{x.to(DType.F64)}, out));
            assertTrue(e.getMessage().contains("sumOfSquaresSegments") && e.getMessage().contains("F64"), e.getMessage());
            Tensor strided = x.reshape(2, 3).transpose(0, 1);
            e = assertThrows(IllegalArgumentException.class, () -> GradNorm.sumOfSquares(new Tensor[]{strided}, out));
            assertTrue(e.getMessage().contains("strided"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> GradNorm.sumOfSquares(new Tensor[]{x}, Tensor.zeros(Device.CPU, DType.F32, 2)));
            assertTrue(e.getMessage().contains("out") && e.getMessage().contains("[2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> GradNorm.sumOfSquares(new Tensor[]{x, null}, out));
            assertTrue(e.getMessage().contains("tensor 1"), e.getMessage());
        }
    }

    @Test
    void clipScaleFollowsClipGradNorm() {
        assertEquals(1f, GradNorm.clipScale(0f, 1.0));
        assertEquals(1f, GradNorm.clipScale(0.25f, 1.0), "norm 0.5 is below the limit");
        assertEquals(0.5f / (5f + 1e-6f), GradNorm.clipScale(25f, 0.5));
        assertTrue(Float.isNaN(GradNorm.clipScale(Float.NaN, 1.0)), "a NaN norm propagates");
        assertEquals(0f, GradNorm.clipScale(Float.POSITIVE_INFINITY, 1.0));
    }

    @Test
    void clippedStepEqualsScaledGradientsThenThePlainStep() {
        int[] sizes = {5, 0, 17, 1, 64};
        int total = 0;
        for (int n : sizes) total += n;
        // sums of squares: zero gradients, below the limit, above it
        for (double gradScale : new double[]{0, 0.01, 1, 50}) {
            for (double maxNorm : new double[]{0.5, 2.0}) {
                try (Scope scope = Scope.open()) {
                    Tensor[] p = new Tensor[sizes.length], q = new Tensor[sizes.length], g = new Tensor[sizes.length];
                    for (int s = 0; s < sizes.length; s++) {
                        p[s] = random(s, 1, sizes[s]);
                        q[s] = p[s].to(Device.CPU);
                        g[s] = random(100 + s, gradScale, sizes[s]);
                    }
                    Tensor m = random(20, 0.1, total), v = random(21, 0.1, total).abs(), m2 = m.to(Device.CPU), v2 = v.to(Device.CPU);
                    float[][] before = new float[sizes.length][];
                    for (int s = 0; s < sizes.length; s++) before[s] = g[s].toFloatArray();
                    AdamWHyper h = new AdamWHyper(0.01, 0.9, 0.99, 1e-8, 0.1, 3);
                    Tensor sumOfSquares = GradNorm.sumOfSquares(Device.CPU, g);
                    FusedAdamW.applyClipped(p, g, m, v, h, sumOfSquares, maxNorm);

                    float c = GradNorm.clipScale(sumOfSquares.toFloatArray()[0], maxNorm);
                    double norm = Math.sqrt(sumOfSquares.toFloatArray()[0]);
                    assertEquals(norm > maxNorm ? maxNorm / (norm + 1e-6) : 1.0, c, 1e-6, "clip factor");
                    Tensor[] scaled = new Tensor[sizes.length];
                    for (int s = 0; s < sizes.length; s++) {
                        float[] a = g[s].toFloatArray();
                        for (int i = 0; i < a.length; i++) a[i] *= c;
                        scaled[s] = Tensor.of(Device.CPU, a, a.length);
                    }
                    FusedAdamW.apply(q, scaled, m2, v2, h);
                    String what = "grad scale " + gradScale + ", maxNorm " + maxNorm;
                    assertArrayEquals(m2.toFloatArray(), m.toFloatArray(), 0f, what + ": m");
                    assertArrayEquals(v2.toFloatArray(), v.toFloatArray(), 0f, what + ": v");
                    for (int s = 0; s < sizes.length; s++) {
                        assertArrayEquals(q[s].toFloatArray(), p[s].toFloatArray(), 0f, what + ": param " + s);
                        assertArrayEquals(before[s], g[s].toFloatArray(), 0f, what + ": gradient " + s + " is left unchanged");
                    }
                }
            }
        }
    }

    @Test
    void clippedStepChecksTheScalarAndTheLimit() {
        try (Scope scope = Scope.open()) {
            Tensor[] p = {random(1, 1, 4)}, g = {random(2, 1, 4)};
            Tensor m = Tensor.zeros(Device.CPU, DType.F32, 4), v = Tensor.zeros(Device.CPU, DType.F32, 4);
            AdamWHyper h = new AdamWHyper(0.01, 0.9, 0.99, 1e-8, 0, 1);
            Tensor s = GradNorm.sumOfSquares(Device.CPU, g);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FusedAdamW.applyClipped(p, g, m, v, h, Tensor.zeros(Device.CPU, DType.F64, 1), 1.0));
            assertTrue(e.getMessage().contains("sumOfSquares") && e.getMessage().contains("F64"), e.getMessage());
            for (double bad : new double[]{0, -1, Double.NaN, Double.POSITIVE_INFINITY, 1e300}) {
                e = assertThrows(IllegalArgumentException.class, () -> FusedAdamW.applyClipped(p, g, m, v, h, s, bad));
                assertTrue(e.getMessage().contains("maxNorm"), e.getMessage());
            }
            e = assertThrows(IllegalArgumentException.class,
                    () -> FusedAdamW.applyClipped(p, new Tensor[]{random(3, 1, 5)}, m, v, h, s, 1.0));
            assertTrue(e.getMessage().contains("differ in size"), e.getMessage());
        }
    }
}
