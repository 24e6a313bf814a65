package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * cast.cu against the CPU backend, bit-exact: every bf16 and fp8 code decoded, a dense set of
 * fp32 values (all rounding boundaries of bf16 / fp8, overflow, infinities, NaN, subnormals)
 * encoded, and every dtype pair on strided views.
 */
@Tag("gpu")
class CudaCastTest {
    static final DType[] ALL = {DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64};

    @BeforeEach
    void gpu() { assumeGpu(); }

    /** Raw storage bits of a tensor, widened to long. */
    static long[] bits(Tensor t) {
        Object h = t.toHost();
        if (h instanceof float[] f) { long[] r = new long[f.length]; for (int i = 0; i < f.length; i++) r[i] = Float.floatToIntBits(f[i]); return r; }
        if (h instanceof short[] s) { long[] r = new long[s.length]; for (int i = 0; i < s.length; i++) r[i] = s[i] & 0xFFFF; return r; }
        if (h instanceof byte[] b) { long[] r = new long[b.length]; for (int i = 0; i < b.length; i++) r[i] = b[i] & 0xFF; return r; }
        if (h instanceof int[] a) { long[] r = new long[a.length]; for (int i = 0; i < a.length; i++) r[i] = a[i]; return r; }
        return (long[]) h;
    }

    /** NaN payloads may differ between a decode on the CPU and on the GPU; only NaN-ness must match. */
    static void assertSameFloats(String what, Tensor expected, Tensor actual) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            if (Float.floatToIntBits(e[i]) != Float.floatToIntBits(a[i])) {
                fail(what + ": element " + i + " is " + a[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(a[i])) + "), expected "
                        + e[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(e[i])) + ")");
            }
        }
    }

    @Test
    void everyBf16CodeDecodesExactly() {
        short[] codes = new short[1 << 16];
        for (int i = 0; i < codes.length; i++) codes[i] = (short) i;
        try (Scope s = Scope.open()) {
            Tensor c = Tensor.fromHost(Device.CPU, DType.BF16, codes, codes.length);
            Tensor g = c.to(GPU);
            assertSameFloats("bf16 -> f32", c.to(DType.F32), g.to(DType.F32));
            for (DType to : new DType[]{DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64}) {
                assertExact("bf16 -> " + to, bits(c.to(to)), bits(g.to(to)));
            }
        }
    }

    @Test
    void everyFp8CodeDecodesExactly() {
        byte[] codes = new byte[256];
        for (int i = 0; i < 256; i++) codes[i] = (byte) i;
        for (DType t : new DType[]{DType.F8E4M3, DType.F8E5M2}) {
            try (Scope s = Scope.open()) {
                Tensor c = Tensor.fromHost(Device.CPU, t, codes, 256);
                Tensor g = c.to(GPU);
                assertSameFloats(t + " -> f32", c.to(DType.F32), g.to(DType.F32));
                for (DType to : new DType[]{DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64}) {
                    Tensor ce = c.to(to), ge = g.to(to);
                    if (to.isFloating()) assertSameFloats(t + " -> " + to, ce, ge);
                    else assertExact(t + " -> " + to, bits(ce), bits(ge));
                }
            }
        }
    }

    /** Floats around every bf16 / fp8 rounding boundary plus specials. */
    static float[] boundaryFloats() {
        List<Float> v = new ArrayList<>();
        float[] specials = {0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.NaN, Float.intBitsToFloat(0xFFC00001), 448f, 464f, 465f, 480f, 57344f, 61440f, 61441f, 65536f, 1e30f, 2.5e-3f};
        for (float f : specials) { v.add(f); v.add(-f); }
        // Every bf16 code plus and minus half a bf16 ulp and a quarter ulp: exact ties and near-ties.
        for (int code = 0; code < 0x7F80; code += 3) {
            int b = code << 16;
            for (int delta : new int[]{0, 0x4000, 0x7FFF, 0x8000, 0x8001, 0xC000}) {
                float f = Float.intBitsToFloat(b + delta);
                v.add(f);
                v.add(-f);
            }
        }
        float[] r = new float[v.size()];
        for (int i = 0; i < r.length; i++) r[i] = v.get(i);
        return r;
    }

    @Test
    void fp32EncodesBitExactlyToEveryNarrowType() {
        float[] values = boundaryFloats();
        try (Scope s = Scope.open()) {
            Tensor c = Tensor.of(Device.CPU, values, values.length);
            Tensor g = c.to(GPU);
            for (DType to : new DType[]{DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64}) {
                assertExact("f32 -> " + to, bits(c.to(to)), bits(g.to(to)));
            }
        }
    }

    @Test
    void everyDtypePairOnStridedViews() {
        for (DType from : ALL) {
            for (DType to : ALL) {
                try (Scope s = Scope.open()) {
                    Tensor c = from.isFloating() ? cpuRandom(from, 3, -300, 300, 33, 47) : cpuRandom(from, 3, -1e5, 1e5, 33, 47);
                    Tensor g = c.to(GPU);
                    Tensor cv = c.transpose(0, 1).slice(0, 3, 40), gv = g.transpose(0, 1).slice(0, 3, 40);
                    assertExact(from + " -> " + to + " (transposed slice)", bits(cv.to(to)), bits(gv.to(to)));
                    assertExact(from + " -> " + to + " (expanded)", bits(c.slice(0, 2, 3).expand(5, 47).to(to)),
                            bits(g.slice(0, 2, 3).expand(5, 47).to(to)));
                }
            }
        }
    }

    @Test
    void contiguousCopiesOfViewsAndHostRoundTrips() {
        for (int n : ODD_SIZES) {
            for (DType t : ALL) {
                try (Scope s = Scope.open()) {
                    Tensor c = cpuRandom(t, n, -100, 100, n, 3);
                    Tensor g = c.to(GPU);
                    assertExact(t + " round trip [" + n + ",3]", bits(c), bits(g));
                    assertExact(t + " transposed contiguous", bits(c.transpose(0, 1).contiguous()), bits(g.transpose(0, 1).contiguous()));
                    Tensor back = g.to(Device.CPU);
                    assertExact(t + " back to CPU", bits(c), bits(back));
                }
            }
        }
    }
}
