package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** amax and the scaled casts on the CPU: round trips, saturation, NaN, ragged sizes. */
class CpuScaledCastTest {
    static final Backend CPU = CpuBackend.instance();

    static Tensor scale(float s) { return Tensor.of(Device.CPU, new float[]{s}, 1); }

    @Test
    void powerOfTwoScalesRoundTripEveryFiniteFp8Code() {
        byte[] codes = new byte[256];
        for (int i = 0; i < 256; i++) codes[i] = (byte) i;
        for (DType t : new DType[]{DType.F8E4M3, DType.F8E5M2}) {
            for (float s : new float[]{1f, 0.25f, 8f}) {
                try (Scope sc = Scope.open()) {
                    Tensor c = Tensor.fromHost(Device.CPU, t, codes, 256);
                    Tensor wide = Tensor.empty(Device.CPU, DType.F32, 256), back = Tensor.empty(Device.CPU, t, 256);
                    CPU.castScaled(c, wide, scale(s));
                    CPU.castScaled(wide, back, scale(1 / s));
                    float[] w = wide.toFloatArray();
                    byte[] b = (byte[]) back.toHost();
                    for (int i = 0; i < 256; i++) {
                        float v = Fp8.toFloat(t, codes[i]);
                        if (Float.isNaN(v)) { assertTrue(Float.isNaN(w[i])); assertTrue(Float.isNaN(Fp8.toFloat(t, b[i]))); continue; }
                        assertEquals(v * s, w[i], 0.0, t + " code " + i);
                        if (Float.isInfinite(v)) assertEquals(Math.copySign(Fp8.E5M2_MAX, v), Fp8.toFloat(t, b[i]), 0.0, "infinity saturates");
                        else assertEquals(codes[i], b[i], t + " code " + i + " scale " + s);
                    }
                }
            }
        }
    }

    @Test
    void narrowingSaturatesRoundsOnceFromTheFp32ProductAndKeepsNaN() {
        float[] x = {1000f, -1e30f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 3.0f, 0f, -0f, Float.MAX_VALUE};
        try (Scope sc = Scope.open()) {
            Tensor src = Tensor.of(Device.CPU, x, x.length);
            Tensor e4 = Tensor.empty(Device.CPU, DType.F8E4M3, x.length), b16 = Tensor.empty(Device.CPU, DType.BF16, x.length);
            CPU.castScaled(src, e4, scale(0.7f));
            CPU.castScaled(src, b16, scale(2f));
            byte[] e = (byte[]) e4.toHost();
            short[] b = (short[]) b16.toHost();
            assertEquals(448f, Fp8.e4m3ToFloat(e[0]));
            assertEquals(-448f, Fp8.e4m3ToFloat(e[1]));
            assertEquals(448f, Fp8.e4m3ToFloat(e[2]));
            assertEquals(-448f, Fp8.e4m3ToFloat(e[3]));
            assertTrue(Float.isNaN(Fp8.e4m3ToFloat(e[4])));
            assertEquals(Fp8.e4m3FromFloat(3.0f * 0.7f), e[5]);   // the fp32 product, then one rounding
            assertEquals(0, e[6]);
            assertEquals((byte) 0x80, e[7]);
            assertEquals((short) 0x7F7F, b[2]);      // +inf saturates to bf16's max finite
            assertEquals((short) 0xFF7F, b[3]);
            assertEquals((short) 0x7F7F, b[8]);      // MAX_VALUE * 2 overflows fp32 to inf: saturated
            assertTrue(Float.isNaN(Bf16.toFloat(b[4])));
            assertEquals(Bf16.fromFloat(6f), b[5]);
        }
    }

    @Test
    void amaxOnRaggedSizesAndNaN() {
        for (int n : new int[]{1, 7, 1000, 4097, (1 << 20) + 3}) {
            SplittableRandom r = new SplittableRandom(n);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
            int at = r.nextInt(n);
            v[at] = -5.5f;
            try (Scope sc = Scope.open()) {
                Tensor x = Tensor.of(Device.CPU, v, n), out = Tensor.empty(Device.CPU, DType.F32, 1);
                CPU.amax(x, out);
                assertEquals(5.5f, out.toFloatArray()[0], "n = " + n);
                CPU.amax(x.to(DType.BF16), out);
                assertEquals(5.5f, out.toFloatArray()[0]);
                v[r.nextInt(n)] = Float.NaN;
                CPU.amax(Tensor.of(Device.CPU, v, n), out);
                assertTrue(Float.isNaN(out.toFloatArray()[0]), "NaN propagates, n = " + n);
            }
        }
        try (Scope sc = Scope.open()) {
            Tensor out = Tensor.empty(Device.CPU, DType.F32, 1);
            CPU.amax(Tensor.empty(Device.CPU, DType.F32, 0), out);
            assertEquals(0f, out.toFloatArray()[0]);
        }
    }

    @Test
    void unsupportedPairsAreRejected() {
        try (Scope sc = Scope.open()) {
            Tensor src = Tensor.zeros(Device.CPU, DType.BF16, 4), dst = Tensor.empty(Device.CPU, DType.F8E4M3, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CPU.castScaled(src, dst, scale(1)));
            assertTrue(e.getMessage().startsWith("castScaled: supports F32 -> F8E4M3"), e.getMessage());
        }
    }
}
