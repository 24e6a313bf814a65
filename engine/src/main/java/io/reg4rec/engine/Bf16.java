package io.reg4rec.engine;

/**
 * bfloat16 codec: a bf16 value is the upper 16 bits of an IEEE fp32, stored in a {@code short}.
 * Encoding rounds to nearest even; NaN becomes the canonical quiet NaN (sign kept), infinities
 * stay infinite. This is the bit-exact reference the CUDA kernels are checked against.
 */
public final class Bf16 {
    private Bf16() {}

    /** Canonical quiet NaN (positive). */
    public static final short NAN = (short) 0x7FC0;

    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short fromFloat(float value) {
        int x = Float.floatToRawIntBits(value);
        if ((x & 0x7FFFFFFF) > 0x7F800000) return (short) (((x >>> 16) & 0x8000) | 0x7FC0);
        // Adding 0x7FFF plus the kept LSB rounds the dropped 16 bits to nearest, ties to even;
        // a carry into the exponent is the correct result (up to infinity).
        int keptLsb = (x >>> 16) & 1;
        return (short) ((x + 0x7FFF + keptLsb) >>> 16);
    }

    /** Rounds a double straight to bf16 (one rounding, no double rounding through fp32). */
    public static short fromDouble(double value) {
        return fromFloat(roundToOddFloat(value));
    }

    /**
     * The double rounded to fp32 with round-to-odd. A later round-to-nearest-even to any format
     * with at least two fewer significand bits then equals a single direct rounding.
     */
    public static float roundToOddFloat(double value) {
        float f = (float) value;
        if (f != f || (double) f == value) return f;
        if (Math.abs((double) f) > Math.abs(value)) f = Math.nextAfter(f, 0.0);
        return Float.intBitsToFloat(Float.floatToRawIntBits(f) | 1);
    }
}
