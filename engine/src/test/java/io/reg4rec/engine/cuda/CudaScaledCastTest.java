package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.CudaCastTest.bits;
import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * scaled_cast.cu against the CPU reference, bit-exact (NaN compared as NaN): every fp8 and bf16
 * code widened, every bf16 code's value plus fp8 rounding boundaries and specials narrowed, each
 * with power-of-two and other scales, on aligned (vectorised) and offset (scalar) buffers; amax
 * exact on ragged sizes, NaN propagating.
 */
@Tag("gpu")
class CudaScaledCastTest {
    static final float[] SCALES = {1f, 2f, 0.125f, 0x1p-20f, 448f / 3.7f, 1f / 3f, 1e-3f, 57344f};
    static final DType[] LOW = {DType.F8E4M3, DType.F8E5M2, DType.BF16};

    @BeforeEach
    void gpu() { assumeGpu(); }

    /** A copy of host on dev placed at element offset (offset 3 defeats the 4-element quads, offset 4 keeps them with a shifted start). */
    static Tensor placed(Device dev, DType t, Object host, int n, int offset) {
        Object padded = t.newHostArray(n + offset);
        System.arraycopy(host, 0, padded, offset, n);
        try (Tensor flat = Tensor.fromHost(dev, t, padded, n + offset)) {
            return flat.slice(0, offset, n + offset);
        }
    }

    static Tensor castOn(Device dev, Tensor cpuSrc, DType to, float scale, int offset) {
        int n = (int) cpuSrc.numel();
        try (Tensor src = placed(dev, cpuSrc.dtype(), cpuSrc.toHost(), n, offset); Tensor s = Tensor.of(dev, new float[]{scale}, 1)) {
            Tensor dst = Tensor.empty(dev, to, n);
            Engine.backend(dev).castScaled(src, dst, s);
            return dst;
        }
    }

    /** NaNs compare equal whatever their payload (floatToIntBits canonicalises them). */
    static long[] canonical(Tensor t) {
        if (t.dtype() != DType.F32) return bits(t);
        float[] f = t.toFloatArray();
        long[] r = new long[f.length];
        for (int i = 0; i < f.length; i++) r[i] = Float.floatToIntBits(f[i]);
        return r;
    }

    @Test
    void everyLowPrecisionCodeWidensExactly() {
        for (DType t : LOW) {
            int count = t == DType.BF16 ? 1 << 16 : 256;
            Object codes = t.newHostArray(count);
            for (int i = 0; i < count; i++) {
                if (t == DType.BF16) ((short[]) codes)[i] = (short) i;
                else ((byte[]) codes)[i] = (byte) i;
            }
            for (float s : SCALES) {
                for (int offset : new int[]{0, 3, 4}) {
                    try (Scope sc = Scope.open()) {
                        Tensor src = Tensor.fromHost(Device.CPU, t, codes, count);
                        assertExact(t + " -> f32 scale " + s + " offset " + offset,
                                canonical(castOn(Device.CPU, src, DType.F32, s, 0)), canonical(castOn(GPU, src, DType.F32, s, offset)));
                    }
                }
            }
        }
    }

    /** Every bf16 value as fp32, fp8 midpoints and their neighbours, overflow and specials. */
    static float[] narrowingInputs() {
        float[] v = new float[(1 << 16) + 256 * 6 + 8];
        int k = 0;
        for (int i = 0; i < 1 << 16; i++) v[k++] = Bf16.toFloat((short) i);
        for (int code = 0; code < 255; code++) {
            for (DType t : new DType[]{DType.F8E4M3, DType.F8E5M2}) {
                float a = Fp8.toFloat(t, (byte) code), b = Fp8.toFloat(t, (byte) (code + 1));
                float mid = Float.isFinite(a) && Float.isFinite(b) ? (a + b) / 2 : 1f;
                v[k++] = mid;
                v[k++] = Math.nextUp(mid);
                v[k++] = Math.nextDown(mid);
            }
        }
        float[] specials = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 1e30f, -1e-30f, 465f, 61440f, Float.NaN};
        for (float f : specials) v[k++] = f;
        return java.util.Arrays.copyOf(v, k);
    }

    @Test
    void narrowingIsBitExactForEveryFormatAndScale() {
        float[] x = narrowingInputs();
        for (DType to : LOW) {
            for (float s : SCALES) {
                for (int offset : new int[]{0, 3, 4}) {
                    try (Scope sc = Scope.open()) {
                        Tensor src = Tensor.of(Device.CPU, x, x.length);
                        assertExact("f32 -> " + to + " scale " + s + " offset " + offset,
                                bits(castOn(Device.CPU, src, to, s, 0)), bits(castOn(GPU, src, to, s, offset)));
                    }
                }
            }
        }
    }

    @Test
    void saturationAndNaNOnTheDevice() {
        float[] x = {1e6f, -1e6f, Float.POSITIVE_INFINITY, Float.NaN};
        try (Scope sc = Scope.open()) {
            Tensor src = Tensor.of(Device.CPU, x, 4);
            byte[] e4 = (byte[]) castOn(GPU, src, DType.F8E4M3, 1f, 0).toHost();
            byte[] e5 = (byte[]) castOn(GPU, src, DType.F8E5M2, 1f, 0).toHost();
            short[] b = (short[]) castOn(GPU, src, DType.BF16, 1e33f, 0).toHost();
            assertArrayEquals(new byte[]{0x7E, (byte) 0xFE, 0x7E, 0x7F}, e4);
            assertArrayEquals(new byte[]{0x7B, (byte) 0xFB, 0x7B, 0x7F}, e5);
            assertEquals((short) 0x7F7F, b[0]);   // 1e39 overflows fp32 in the product: saturated
            assertEquals((short) 0xFF7F, b[1]);
            assertEquals((short) 0x7F7F, b[2]);
            assertTrue(Float.isNaN(Bf16.toFloat(b[3])));
        }
    }

    @Test
    void amaxOnRaggedSizes() {
        for (int n : new int[]{1, 7, 1000, 4097, (1 << 20) + 3}) {
            SplittableRandom r = new SplittableRandom(n);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * 3);
            for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2}) {
                for (int offset : new int[]{0, 5, 16}) {
                    try (Scope sc = Scope.open()) {
                        Tensor cpu = Tensor.of(Device.CPU, v, n).to(t);
                        Tensor outC = Tensor.empty(Device.CPU, DType.F32, 1), outG = Tensor.empty(GPU, DType.F32, 1);
                        Engine.backend(Device.CPU).amax(cpu, outC);
                        Engine.backend(GPU).amax(placed(GPU, t, cpu.toHost(), n, offset), outG);
                        assertEquals(outC.toFloatArray()[0], outG.toFloatArray()[0], 0f, t + " n = " + n + " offset " + offset);
                    }
                }
            }
            v[r.nextInt(n)] = Float.NaN;
            try (Scope sc = Scope.open()) {
                Tensor outG = Tensor.empty(GPU, DType.F32, 1);
                Engine.backend(GPU).amax(Tensor.of(GPU, v, n), outG);
                assertTrue(Float.isNaN(outG.toFloatArray()[0]), "NaN propagates, n = " + n);
                Engine.backend(GPU).amax(Tensor.of(GPU, v, n).to(DType.F8E4M3), outG);
                assertTrue(Float.isNaN(outG.toFloatArray()[0]), "e4m3 NaN propagates, n = " + n);
            }
        }
        try (Scope sc = Scope.open()) {
            Tensor outG = Tensor.full(GPU, DType.F32, 7f, 1);
            Engine.backend(GPU).amax(Tensor.empty(GPU, DType.F32, 0), outG);
            assertEquals(0f, outG.toFloatArray()[0]);
        }
    }
}
