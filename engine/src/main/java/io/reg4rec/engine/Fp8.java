package io.reg4rec.engine;

/**
 * 8-bit float codecs (OCP FP8): E4M3 ("FN": bias 7, largest finite 448, no infinities, NaN is
 * S.1111.111) and E5M2 (bias 15, largest finite 57344, IEEE-like with infinities and NaNs).
 * Encoding rounds to nearest even, keeps subnormals, and SATURATES: finite values beyond the
 * largest finite value and infinities become +-max. NaN encodes as S.1111111 (0x7F / 0xFF) in
 * both formats. This is the bit-exact reference the CUDA kernels are checked against.
 */
public final class Fp8 {
    private Fp8() {}

    public static final float E4M3_MAX = 448f;
    public static final float E5M2_MAX = 57344f;

    private static final float[] E4M3_TABLE = new float[256];
    private static final float[] E5M2_TABLE = new float[256];

    static {
        for (int code = 0; code < 256; code++) {
            E4M3_TABLE[code] = decode(code, 4, 3, 7, false);
            E5M2_TABLE[code] = decode(code, 5, 2, 15, true);
        }
    }

    private static float decode(int code, int expBits, int manBits, int bias, boolean ieeeSpecials) {
        int sign = (code >>> 7) & 1;
        int exp = (code >>> manBits) & ((1 << expBits) - 1);
        int man = code & ((1 << manBits) - 1);
        int maxExp = (1 << expBits) - 1;
        float magnitude;
        if (ieeeSpecials && exp == maxExp) {
            magnitude = man == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (!ieeeSpecials && exp == maxExp && man == (1 << manBits) - 1) {
            magnitude = Float.NaN;
        } else if (exp == 0) {
            magnitude = Math.scalb((float) man, 1 - bias - manBits);
        } else {
            magnitude = Math.scalb((float) ((1 << manBits) + man), exp - bias - manBits);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    public static float e4m3ToFloat(byte code) { return E4M3_TABLE[code & 0xFF]; }

    public static float e5m2ToFloat(byte code) { return E5M2_TABLE[code & 0xFF]; }

    public static byte e4m3FromFloat(float value) { return encode(value, 3, 7, 0x7E); }

    public static byte e5m2FromFloat(float value) { return encode(value, 2, 15, 0x7B); }

    /** Direct rounding from double (via fp32 round-to-odd, so there is no double rounding). */
    public static byte e4m3FromDouble(double value) { return e4m3FromFloat(Bf16.roundToOddFloat(value)); }

    public static byte e5m2FromDouble(double value) { return e5m2FromFloat(Bf16.roundToOddFloat(value)); }

    /** Decodes either format. */
    public static float toFloat(DType dtype, byte code) {
        return switch (dtype) {
            case F8E4M3 -> e4m3ToFloat(code);
            case F8E5M2 -> e5m2ToFloat(code);
            default -> throw new IllegalArgumentException("Fp8.toFloat: " + dtype + " is not an fp8 type");
        };
    }

    /** Encodes to either format. */
    public static byte fromFloat(DType dtype, float value) {
        return switch (dtype) {
            case F8E4M3 -> e4m3FromFloat(value);
            case F8E5M2 -> e5m2FromFloat(value);
            default -> throw new IllegalArgumentException("Fp8.fromFloat: " + dtype + " is not an fp8 type");
        };
    }

    /**
     * Round to nearest even in a format with manBits mantissa bits and the given bias; maxCode is
     * the code of the largest finite magnitude. Codes are monotone in magnitude, so a mantissa
     * carry into the exponent, and the subnormal-to-normal step, fall out of plain addition.
     */
    private static byte encode(float value, int manBits, int bias, int maxCode) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 24) & 0x80;
        if (value != value) return (byte) (sign | 0x7F);
        float magnitude = Math.abs(value);
        if (magnitude == 0f) return (byte) sign;
        int code;
        int exponent = Math.getExponent(magnitude);
        if (exponent > 64) {
            code = maxCode + 1; // far beyond either format's range (also infinity)
        } else if (exponent < 1 - bias) {
            // Subnormal range: count quanta of 2^(1-bias-manBits); the scaling is exact.
            double quanta = Math.scalb((double) magnitude, bias - 1 + manBits);
            code = (int) Math.rint(quanta);
        } else {
            double significand = Math.scalb((double) magnitude, manBits - exponent);
            int rounded = (int) Math.rint(significand);
            code = ((exponent + bias) << manBits) + (rounded - (1 << manBits));
        }
        if (code > maxCode) code = maxCode;
        return (byte) (sign | code);
    }
}
