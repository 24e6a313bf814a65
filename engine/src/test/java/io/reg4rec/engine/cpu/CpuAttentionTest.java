package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Attention;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cpu.CpuTestSupport.CPU;
import static io.reg4rec.engine.cpu.CpuTestSupport.random;
import static io.reg4rec.engine.cpu.CpuTestSupport.values;
import static org.junit.jupiter.api.Assertions.*;

/** The CPU attention reference against attention composed from matmul, softmax and masks. */
class CpuAttentionTest {
    /** Added to masked scores in the composed reference: exp of it underflows to exactly 0 in F64. */
    private static final double MASKED = -1e30;

    /** 0 / MASKED bias [B, 1, Tq, Tk] for padding (flags [B * Tk], may be null) and bottom-right causal masking. */
    static Tensor bias(int batch, int tq, int tk, boolean[] pad, boolean causal) {
        double[] b = new double[batch * tq * tk];
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < tq; i++)
                for (int j = 0; j < tk; j++) {
                    boolean masked = (pad != null && pad[n * tk + j]) || (causal && j > i + tk - tq);
                    b[(n * tq + i) * tk + j] = masked ? MASKED : 0;
                }
        return Tensor.fromHost(CPU, DType.F64, b, batch, 1, tq, tk);
    }

    /** out and logSumExp composed from F64 tensor ops (rows must see at least one key). */
    static Tensor[] composed(Tensor q, Tensor k, Tensor v, boolean[] pad, boolean causal, double scale) {
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3), tk = k.size(2);
        Tensor q3 = q.to(DType.F64).reshape(batch * heads, tq, hd), k3 = k.to(DType.F64).reshape(batch * heads, tk, hd);
        Tensor v3 = v.to(DType.F64).reshape(batch * heads, tk, hd);
        Tensor scores = q3.matmul(k3.transpose(1, 2)).mul(scale).reshape(batch, heads, tq, tk).add(bias(batch, tq, tk, pad, causal));
        Tensor weights = scores.softmax(3).reshape(batch * heads, tq, tk);
        Tensor out = weights.matmul(v3).reshape(batch, heads, tq, hd);
        Tensor max = scores.max(3, true);
        Tensor lse = scores.sub(max).exp().sum(3, true).log().add(max).reshape(batch, heads, tq);
        return new Tensor[]{out, lse};
    }

    static Tensor padTensor(boolean[] pad, int batch, int tk) {
        int[] flags = new int[batch * tk];
        for (int i = 0; i < flags.length; i++) flags[i] = pad[i] ? 1 : 0;
        return Tensor.of(CPU, flags, batch, tk);
    }

    static void assertAllClose(String what, double[] expected, double[] actual, double rel, double abs) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (e == a) continue;
            if (!(Math.abs(e - a) <= abs + rel * Math.abs(e))) fail(what + ": element " + i + " is " + a + ", expected " + e);
        }
    }

    private record Case(int batch, int heads, int tq, int tk, int hd, boolean causal, boolean padded) {}

    private static final Case[] CASES = {
            new Case(2, 3, 5, 5, 4, false, false),
            new Case(2, 3, 5, 5, 4, true, false),
            new Case(2, 2, 6, 6, 8, false, true),
            new Case(3, 2, 7, 7, 5, true, true),
            new Case(2, 2, 3, 9, 6, false, true),   // cross: few queries over more keys
            new Case(2, 2, 3, 9, 6, true, true),    // bottom-right causal against a longer cache
            new Case(1, 1, 1, 1, 3, true, false),
    };

    /** Padding flags that leave key 0 of every batch visible (so every row, causal or not, sees a key). */
    private static boolean[] somePadding(int batch, int tk, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        boolean[] pad = new boolean[batch * tk];
        for (int n = 0; n < batch; n++) for (int j = 1; j < tk; j++) pad[n * tk + j] = r.nextDouble() < 0.35;
        return pad;
    }

    @Test
    void f64MatchesComposedOps() {
        int seed = 0;
        for (Case c : CASES) {
            try (Scope scope = Scope.open()) {
                seed += 10;
                Tensor q = random(DType.F64, seed, -1, 1, c.batch, c.heads, c.tq, c.hd);
                Tensor k = random(DType.F64, seed + 1, -1, 1, c.batch, c.heads, c.tk, c.hd);
                Tensor v = random(DType.F64, seed + 2, -1, 1, c.batch, c.heads, c.tk, c.hd);
                boolean[] pad = c.padded ? somePadding(c.batch, c.tk, seed) : null;
                double scale = 1 / Math.sqrt(c.hd);
                Attention.Result r = Attention.forward(q, k, v, pad == null ? null : padTensor(pad, c.batch, c.tk), c.causal, scale);
                Tensor[] ref = composed(q, k, v, pad, c.causal, scale);
                assertEquals(DType.F64, r.logSumExp().dtype());
                assertAllClose(c + " out", values(ref[0]), values(r.out()), 1e-12, 1e-14);
                assertAllClose(c + " logSumExp", values(ref[1]), values(r.logSumExp()), 1e-12, 1e-14);
            }
        }
    }

    @Test
    void f32AndBf16RoundTheF64ResultOnce() {
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            try (Scope scope = Scope.open()) {
                Tensor q = random(t, 1, -2, 2, 2, 2, 6, 16), k = random(t, 2, -2, 2, 2, 2, 11, 16), v = random(t, 3, -2, 2, 2, 2, 11, 16);
                boolean[] pad = somePadding(2, 11, 4);
                Tensor mask = padTensor(pad, 2, 11);
                Attention.Result r = Attention.forward(q, k, v, mask, true, 0.3);
                Attention.Result exact = Attention.forward(q.to(DType.F64), k.to(DType.F64), v.to(DType.F64), mask, true, 0.3);
                assertEquals(t, r.out().dtype());
                assertEquals(DType.F32, r.logSumExp().dtype());
                double rel = t == DType.F32 ? 0x1p-24 : 0x1p-8;  // half an ulp: one rounding of the exact value
                assertAllClose(t + " out", values(exact.out()), values(r.out()), rel, 0);
                assertAllClose(t + " logSumExp", values(exact.logSumExp()), values(r.logSumExp()), 0x1p-24, 0);
            }
        }
    }

    @Test
    void aRowThatSeesNoKeyGivesZeroAndMinusInfinity() {
        try (Scope scope = Scope.open()) {
            int batch = 2, heads = 2, tq = 4, tk = 3, hd = 5;
            Tensor q = random(DType.F64, 1, -1, 1, batch, heads, tq, hd);
            Tensor k = random(DType.F64, 2, -1, 1, batch, heads, tk, hd), v = random(DType.F64, 3, -1, 1, batch, heads, tk, hd);
            // batch 1 pads every key; causal with Tq > Tk leaves query 0 of batch 0 without keys (0 > 0 + 3 - 4 fails for j = 0)
            Tensor mask = Tensor.of(CPU, new long[]{0, 0, 0, 1, 1, 1}, batch, tk);
            Attention.Result r = Attention.forward(q, k, v, mask, true, 0.5);
            double[] out = values(r.out()), lse = values(r.logSumExp());
            for (int h = 0; h < heads; h++) {
                assertEquals(Double.NEGATIVE_INFINITY, lse[h * tq]);
                for (int d = 0; d < hd; d++) assertEquals(0.0, out[(h * tq) * hd + d]);
                for (int i = 0; i < tq; i++) {
                    assertEquals(Double.NEGATIVE_INFINITY, lse[(heads + h) * tq + i]);
                    for (int d = 0; d < hd; d++) assertEquals(0.0, out[((heads + h) * tq + i) * hd + d]);
                }
                for (int i = 1; i < tq; i++) assertTrue(Double.isFinite(lse[h * tq + i]));
            }
            // the rows that do see keys match the composed ops on batch 0 alone
            // query i (1..3) of the full problem sees keys j <= i - 1: in the sliced problem (Tq = 3, Tk = 3) that is j <= i' (causal)
            Tensor[] refCausal = composed(q.slice(0, 0, 1).slice(2, 1, tq), k.slice(0, 0, 1), v.slice(0, 0, 1), null, true, 0.5);
            assertAllClose("visible rows", values(refCausal[0]), values(r.out().slice(0, 0, 1).slice(2, 1, tq)), 1e-12, 1e-14);

            // backward: dead rows and fully padded batches pass exactly zero gradients
            Tensor g = random(DType.F64, 9, -1, 1, batch, heads, tq, hd);
            Attention.Gradients gr = Attention.backward(q, k, v, mask, true, 0.5, r.out(), g, r.logSumExp());
            for (double x : values(gr.gradK().slice(0, 1, 2))) assertEquals(0.0, x);
            for (double x : values(gr.gradV().slice(0, 1, 2))) assertEquals(0.0, x);
            for (double x : values(gr.gradQ().slice(0, 1, 2))) assertEquals(0.0, x);
            for (double x : values(gr.gradQ().slice(0, 0, 1).slice(2, 0, 1))) assertEquals(0.0, x);
        }
    }

    @Test
    void keysAndValuesMayBeSlicesOfALargerCache() {
        try (Scope scope = Scope.open()) {
            int batch = 2, heads = 3, tmax = 12, len = 7, hd = 8;
            Tensor kCache = random(DType.F32, 1, -1, 1, batch, heads, tmax, hd), vCache = random(DType.F32, 2, -1, 1, batch, heads, tmax, hd);
            for (int tq = 1; tq <= 4; tq++) {
                Tensor q = random(DType.F32, 10 + tq, -1, 1, batch, heads, tq, hd);
                Tensor k = kCache.slice(2, 0, len), v = vCache.slice(2, 0, len);
                assertFalse(k.isContiguous());
                Attention.Result sliced = Attention.forward(q, k, v, null, true, 0.35);
                Attention.Result copied = Attention.forward(q, k.contiguous(), v.contiguous(), null, true, 0.35);
                assertArrayEquals(values(copied.out()), values(sliced.out()), "Tq " + tq);
                assertArrayEquals(values(copied.logSumExp()), values(sliced.logSumExp()), "Tq " + tq);
                // and q as a permuted view of [B, Tq, H, hd] (the model's layout)
                Tensor qT = q.permute(0, 2, 1, 3).contiguous().permute(0, 2, 1, 3);
                Attention.Result viewed = Attention.forward(qT, k, v, null, true, 0.35);
                assertArrayEquals(values(copied.out()), values(viewed.out()), "Tq " + tq + " permuted q");
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (Scope scope = Scope.open()) {
            Tensor q = random(DType.F32, 1, -1, 1, 2, 2, 3, 4), k = random(DType.F32, 2, -1, 1, 2, 2, 5, 4);
            Tensor kWrongHd = random(DType.F32, 2, -1, 1, 2, 2, 5, 6);
            assertThrows(IllegalArgumentException.class, () -> Attention.forward(q, kWrongHd, kWrongHd, null, false, 1));
            assertThrows(IllegalArgumentException.class, () -> Attention.forward(q, k, k.to(DType.F64), null, false, 1));
            Tensor badMask = Tensor.zeros(CPU, DType.I32, 2, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Attention.forward(q, k, k, badMask, false, 1));
            assertTrue(e.getMessage().contains("keyPadding"), e.getMessage());
            Tensor out = Tensor.empty(CPU, DType.F32, 2, 2, 3, 4), lse = Tensor.empty(CPU, DType.F64, 2, 2, 3);
            e = assertThrows(IllegalArgumentException.class, () -> CpuBackend.instance().attentionForward(q, k, k, null, false, 1, out, lse));
            assertTrue(e.getMessage().contains("logSumExp"), e.getMessage());
            Tensor ints = Tensor.zeros(CPU, DType.I32, 2, 2, 3, 4);
            assertThrows(IllegalArgumentException.class, () -> Attention.forward(ints, ints, ints, null, false, 1));
        }
    }
}
