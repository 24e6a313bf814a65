package io.reg4rec.engine;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class Fp8Test {
    @Test
    void decodesKnownCodes() {
        assertEquals(1f, Fp8.e4m3ToFloat((byte) 0x38));
        assertEquals(448f, Fp8.e4m3ToFloat((byte) 0x7E));
        assertEquals(-448f, Fp8.e4m3ToFloat((byte) 0xFE));
        assertEquals(0x1p-9f, Fp8.e4m3ToFloat((byte) 0x01), "smallest subnormal");
        assertEquals(0x1p-6f, Fp8.e4m3ToFloat((byte) 0x08), "smallest normal");
        assertEquals(7 * 0x1p-9f, Fp8.e4m3ToFloat((byte) 0x07), "largest subnormal");
        assertTrue(Float.isNaN(Fp8.e4m3ToFloat((byte) 0x7F)));
        assertTrue(Float.isNaN(Fp8.e4m3ToFloat((byte) 0xFF)));
        assertEquals(240f, Fp8.e4m3ToFloat((byte) 0x77), "exponent 15 is a normal binade in E4M3");

        assertEquals(1f, Fp8.e5m2ToFloat((byte) 0x3C));
        assertEquals(57344f, Fp8.e5m2ToFloat((byte) 0x7B));
        assertEquals(0x1p-16f, Fp8.e5m2ToFloat((byte) 0x01));
        assertEquals(0x1p-14f, Fp8.e5m2ToFloat((byte) 0x04));
        assertEquals(Float.POSITIVE_INFINITY, Fp8.e5m2ToFloat((byte) 0x7C));
        assertEquals(Float.NEGATIVE_INFINITY, Fp8.e5m2ToFloat((byte) 0xFC));
        for (int c : new int[]{0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}) assertTrue(Float.isNaN(Fp8.e5m2ToFloat((byte) c)));
        assertEquals(0, Float.floatToRawIntBits(Fp8.e4m3ToFloat((byte) 0)));
        assertEquals(0x80000000, Float.floatToRawIntBits(Fp8.e5m2ToFloat((byte) 0x80)), "negative zero");
    }

    @Test
    void everyCodeRoundTrips() {
        for (int code = 0; code < 256; code++) {
            byte c = (byte) code;
            float f4 = Fp8.e4m3ToFloat(c);
            assertEquals(code, Fp8.e4m3FromFloat(f4) & 0xFF, "E4M3 code " + Integer.toHexString(code));
            float f5 = Fp8.e5m2ToFloat(c);
            int expected5 = Float.isNaN(f5) ? (code & 0x80) | 0x7F : Float.isInfinite(f5) ? (code & 0x80) | 0x7B : code;
            assertEquals(expected5, Fp8.e5m2FromFloat(f5) & 0xFF, "E5M2 code " + Integer.toHexString(code));
        }
    }

    @Test
    void tiesRoundToEvenAndSubnormals() {
        assertEquals(0x38, Fp8.e4m3FromFloat(1.0625f), "tie between 1.0 and 1.125 goes to even 1.0");
        assertEquals(0x3A, Fp8.e4m3FromFloat(1.1875f), "tie between 1.125 and 1.25 goes to even 1.25");
        assertEquals(0x39, Fp8.e4m3FromFloat(Math.nextUp(1.0625f)));
        assertEquals(0x00, Fp8.e4m3FromFloat(0x1p-10f), "half the smallest subnormal rounds to zero");
        assertEquals(0x01, Fp8.e4m3FromFloat(Math.nextUp(0x1p-10f)));
        assertEquals(0x02, Fp8.e4m3FromFloat(3 * 0x1p-10f), "subnormal tie to even");
        assertEquals(0x08, Fp8.e4m3FromFloat(7.5f * 0x1p-9f), "largest subnormal + half rounds up into the normals");
        assertEquals(0x80, Fp8.e4m3FromFloat(-0x1p-11f) & 0xFF, "negative underflow keeps the sign");
        assertEquals(0x3C, Fp8.e5m2FromFloat(1.125f), "E5M2 tie between 1.0 and 1.25 goes to even 1.0");
        assertEquals(0x3E, Fp8.e5m2FromFloat(1.375f));
        assertEquals(0x02, Fp8.e5m2FromFloat(3 * 0x1p-17f));
    }

    @Test
    void saturatesAndKeepsNaN() {
        assertEquals(0x7E, Fp8.e4m3FromFloat(449f));
        assertEquals(0x7E, Fp8.e4m3FromFloat(464f), "halfway to the next binade value still saturates");
        assertEquals(0x7E, Fp8.e4m3FromFloat(1e30f));
        assertEquals(0x7E, Fp8.e4m3FromFloat(Float.POSITIVE_INFINITY));
        assertEquals(0xFE, Fp8.e4m3FromFloat(Float.NEGATIVE_INFINITY) & 0xFF);
        assertEquals(0x7F, Fp8.e4m3FromFloat(Float.NaN));
        assertEquals(0x7B, Fp8.e5m2FromFloat(60000f));
        assertEquals(0x7B, Fp8.e5m2FromFloat(Float.POSITIVE_INFINITY));
        assertEquals(0xFB, Fp8.e5m2FromFloat(-Float.MAX_VALUE) & 0xFF);
        assertEquals(0x7F, Fp8.e5m2FromFloat(Float.NaN));
        assertEquals(0xFF, Fp8.e5m2FromFloat(Float.intBitsToFloat(0xFFC00000)) & 0xFF);
        assertEquals(0x7E, Fp8.e4m3FromDouble(1e300));
        assertEquals(0x00, Fp8.e4m3FromDouble(1e-300));
    }

    @Test
    void randomValuesMatchBruteForceNearest() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) ((rnd.nextDouble() - 0.5) * Math.pow(2, rnd.nextInt(-20, 18)));
            assertEquals(bruteForce(f, DType.F8E4M3), Fp8.e4m3FromFloat(f), "E4M3 of " + f);
            assertEquals(bruteForce(f, DType.F8E5M2), Fp8.e5m2FromFloat(f), "E5M2 of " + f);
        }
    }

    /** Nearest finite code by exhaustive search (ties to the even code), saturating. */
    static byte bruteForce(float f, DType type) {
        double mag = Math.abs((double) f);
        int best = 0;
        double bestErr = Double.POSITIVE_INFINITY;
        for (int c = 0; c < 128; c++) {
            float v = Fp8.toFloat(type, (byte) c);
            if (Float.isNaN(v) || Float.isInfinite(v)) continue;
            double err = Math.abs(v - mag);
            if (err < bestErr || (err == bestErr && (c & 1) == 0)) { best = c; bestErr = err; }
        }
        return (byte) (best | (f < 0 || (f == 0 && 1 / f < 0) ? 0x80 : 0));
    }
}
