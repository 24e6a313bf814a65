package io.reg4rec.engine;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class Bf16Test {
    @Test
    void everyCodeRoundTrips() {
        for (int code = 0; code < 65536; code++) {
            short c = (short) code;
            float f = Bf16.toFloat(c);
            short back = Bf16.fromFloat(f);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Bf16.toFloat(back)), "NaN code " + Integer.toHexString(code));
                assertEquals((code & 0x8000) | 0x7FC0, back & 0xFFFF, "NaN becomes the canonical quiet NaN, sign kept");
            } else {
                assertEquals(code, back & 0xFFFF, "code " + Integer.toHexString(code));
            }
        }
    }

    @Test
    void tiesRoundToEven() {
        // 1 + 2^-8 lies halfway between 0x3F80 (1.0) and 0x3F81; the even one wins.
        assertEquals(0x3F80, Bf16.fromFloat(1f + 0x1p-8f) & 0xFFFF);
        assertEquals(0x3F82, Bf16.fromFloat(1f + 3 * 0x1p-8f) & 0xFFFF);
        assertEquals(0xBF82, Bf16.fromFloat(-(1f + 3 * 0x1p-8f)) & 0xFFFF);
        // Just above the tie rounds up.
        assertEquals(0x3F81, Bf16.fromFloat(Math.nextUp(1f + 0x1p-8f)) & 0xFFFF);
        // Overflow past the largest finite bf16 rounds to infinity; infinities and zeros stay.
        assertEquals(0x7F80, Bf16.fromFloat(Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0x7F7F, Bf16.fromFloat(Float.intBitsToFloat(0x7F7F7FFF)) & 0xFFFF);
        assertEquals(0xFF80, Bf16.fromFloat(Float.NEGATIVE_INFINITY) & 0xFFFF);
        assertEquals(0x8000, Bf16.fromFloat(-0f) & 0xFFFF);
        // Subnormals round like normals.
        assertEquals(0x0002, Bf16.fromFloat(Float.intBitsToFloat(0x00018000)) & 0xFFFF, "subnormal tie goes to the even code");
        assertEquals(0x0002, Bf16.fromFloat(Float.intBitsToFloat(0x00028000)) & 0xFFFF);
    }

    @Test
    void randomFloatsRoundToNearest() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (Float.isNaN(f) || Float.isInfinite(f)) continue;
            assertEquals(nearestEven(new BigDecimal(f)), Bf16.fromFloat(f), "value " + f);
        }
    }

    @Test
    void doublesRoundOnceNotTwice() {
        // Halfway between two bf16 values plus a tiny bit that fp32 would round away.
        double justAboveTie = 1.0 + 0x1p-8 + 0x1p-40;
        assertEquals(0x3F81, Bf16.fromDouble(justAboveTie) & 0xFFFF);
        assertEquals(0x3F80, Bf16.fromFloat((float) justAboveTie) & 0xFFFF, "through fp32 the tie would round to even");
        SplittableRandom rnd = new SplittableRandom(2);
        for (int i = 0; i < 20_000; i++) {
            double d = (rnd.nextDouble() - 0.5) * Math.pow(2, rnd.nextInt(-130, 128));
            assertEquals(nearestEven(new BigDecimal(d)), Bf16.fromDouble(d), "value " + d);
        }
    }

    /** Reference: the nearest bf16 by exact decimal arithmetic, ties to the even code. */
    static short nearestEven(BigDecimal v) {
        BigDecimal mag = v.abs();
        short sign = (short) (v.signum() < 0 ? 0x8000 : 0);
        BigDecimal overflow = new BigDecimal(Bf16.toFloat((short) 0x7F7F)).add(new BigDecimal(Math.scalb(1.0, 119)));
        if (mag.compareTo(overflow) >= 0) return (short) (0x7F80 | sign);
        int center = Float.floatToRawIntBits(mag.floatValue()) >>> 16;
        int best = -1;
        BigDecimal bestErr = null;
        for (int c = Math.max(0, center - 2); c <= Math.min(0x7F7F, center + 2); c++) {
            BigDecimal err = new BigDecimal(Bf16.toFloat((short) c)).subtract(mag).abs();
            int cmp = bestErr == null ? -1 : err.compareTo(bestErr);
            if (cmp < 0 || (cmp == 0 && (c & 1) == 0)) { best = c; bestErr = err; }
        }
        return (short) (best | sign);
    }
}
