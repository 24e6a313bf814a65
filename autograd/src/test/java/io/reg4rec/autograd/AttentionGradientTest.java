package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Variable.attention: finite-difference gradient checks (F64, CPU) and agreement with the composed ops. */
class AttentionGradientTest {
    /** As OpGradientTest: finite differences with h = 1e-6 carry about 1e-9 absolute noise here. */
    private static final double TOLERANCE = 1e-5;

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    private static Tensor mask(long[] flags, int batch, int tk) {
        return Tensor.of(Device.CPU, flags, batch, tk);
    }

    private static GradCheck.Result check(int batch, int heads, int tq, int tk, int hd, Tensor keyPadding, boolean causal, long seed) {
        double scale = 1 / Math.sqrt(hd);
        return GradCheck.of(v -> Variable.attention(v[0], v[1], v[2], keyPadding, causal, scale))
                .input("q", T.randn(seed, batch, heads, tq, hd))
                .input("k", T.randn(seed + 1, batch, heads, tk, hd))
                .input("v", T.randn(seed + 2, batch, heads, tk, hd))
                .run().assertBelow(TOLERANCE);
    }

    @Test
    void selfAttention() {
        check(2, 2, 5, 5, 4, null, false, 1);
    }

    @Test
    void causal() {
        check(2, 2, 6, 6, 3, null, true, 11);
    }

    @Test
    void keyPadding() {
        check(2, 2, 5, 5, 4, mask(new long[]{0, 0, 1, 0, 1, 0, 1, 1, 0, 0}, 2, 5), false, 21);
    }

    @Test
    void crossAttentionWithFewerQueriesThanKeysAndCausalPadding() {
        Tensor pad = mask(new long[]{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}, 2, 7);
        check(2, 2, 3, 7, 4, pad, false, 31);
        check(2, 2, 3, 7, 4, pad, true, 41);  // bottom-right: query i sees keys 0..i + 4
    }

    @Test
    void fullyMaskedRowsPassNoGradient() {
        // batch 1 pads every key; causal with Tq = 4 > Tk = 3 leaves query 0 without keys
        Tensor pad = mask(new long[]{0, 0, 0, 1, 1, 1}, 2, 3);
        GradCheck.Result r = check(2, 2, 4, 3, 3, pad, true, 51);
        assertTrue(r.checkedElements() > 0);
        Variable q = Variable.input(T.randn(61, 2, 2, 4, 3), "q"), k = Variable.input(T.randn(62, 2, 2, 3, 3), "k");
        Variable v = Variable.input(T.randn(63, 2, 2, 3, 3), "v");
        Variable out = Variable.attention(q, k, v, pad, true, 0.7);
        for (double x : T.values(out.data().slice(0, 1, 2))) assertEquals(0.0, x);
        out.backward(T.randn(64, 2, 2, 4, 3));
        for (double x : T.values(q.grad().slice(0, 1, 2))) assertEquals(0.0, x);
        for (double x : T.values(q.grad().slice(0, 0, 1).slice(2, 0, 1))) assertEquals(0.0, x);
        for (double x : T.values(k.grad().slice(0, 1, 2))) assertEquals(0.0, x);
        for (double x : T.values(v.grad().slice(0, 1, 2))) assertEquals(0.0, x);
    }

    /** softmax(scale q k^T + bias) v from matmul / maskedFill / softmax, bias as the fused op defines the masks. */
    private static Variable composed(Variable q, Variable k, Variable v, long[] pad, boolean causal, double scale) {
        int batch = q.size(0), heads = q.size(1), tq = q.size(2), hd = q.size(3), tk = k.size(2);
        double[] m = new double[batch * tq * tk];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < tq; i++)
                for (int j = 0; j < tk; j++)
                    m[(b * tq + i) * tk + j] = (pad != null && pad[b * tk + j] != 0) || (causal && j > i + tk - tq) ? 1 : 0;
        Tensor maskTensor = T.of(m, batch, 1, tq, tk);
        Variable scores = q.reshape(batch * heads, tq, hd).matmul(k.reshape(batch * heads, tk, hd).transpose(1, 2)).mul(scale)
                .reshape(batch, heads, tq, tk).maskedFill(maskTensor, -1e30);
        return scores.softmax(3).reshape(batch * heads, tq, tk).matmul(v.reshape(batch * heads, tk, hd)).reshape(batch, heads, tq, hd);
    }

    @Test
    void matchesTheComposedPathOnRandomInputs() {
        int[][] shapes = {{3, 2, 7, 7, 8}, {2, 4, 3, 11, 5}, {1, 3, 9, 9, 16}};
        long seed = 100;
        for (int[] s : shapes) {
            for (boolean causal : new boolean[]{false, true}) {
                seed += 10;
                int batch = s[0], heads = s[1], tq = s[2], tk = s[3], hd = s[4];
                long[] pad = new long[batch * tk];
                java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
                for (int b = 0; b < batch; b++) for (int j = 1; j < tk; j++) pad[b * tk + j] = r.nextDouble() < 0.3 ? 1 : 0;
                Tensor qt = T.randn(seed, batch, heads, tq, hd), kt = T.randn(seed + 1, batch, heads, tk, hd), vt = T.randn(seed + 2, batch, heads, tk, hd);
                Tensor g = T.randn(seed + 3, batch, heads, tq, hd);
                double scale = 1 / Math.sqrt(hd);
                Variable[] fused = {Variable.input(qt, "q"), Variable.input(kt, "k"), Variable.input(vt, "v")};
                Variable[] comp = {Variable.input(qt.to(DType.F64), "q"), Variable.input(kt.to(DType.F64), "k"), Variable.input(vt.to(DType.F64), "v")};
                Variable fo = Variable.attention(fused[0], fused[1], fused[2], mask(pad, batch, tk), causal, scale);
                Variable co = composed(comp[0], comp[1], comp[2], pad, causal, scale);
                String what = java.util.Arrays.toString(s) + (causal ? " causal" : "");
                assertClose(what + " out", T.values(co.data()), T.values(fo.data()));
                fo.backward(g);
                co.backward(g);
                for (int i = 0; i < 3; i++) assertClose(what + " grad " + "qkv".charAt(i), T.values(comp[i].grad()), T.values(fused[i].grad()));
            }
        }
    }

    @Test
    void acceptsPermutedViewsAsTheModelPassesThem() {
        // [B, T, H, hd] permuted to [B, H, T, hd]: strided q, k, v with a contiguous last dimension
        Variable x = Variable.input(T.randn(7, 2, 5, 3, 4), "x");
        Variable y = Variable.input(T.randn(8, 2, 6, 3, 4), "y");
        Variable out = Variable.attention(x.permute(0, 2, 1, 3), y.permute(0, 2, 1, 3), y.permute(0, 2, 1, 3), null, false, 0.5);
        Variable ref = composed(x.permute(0, 2, 1, 3), y.permute(0, 2, 1, 3), y.permute(0, 2, 1, 3), null, false, 0.5);
        assertClose("out", T.values(ref.data()), T.values(out.data()));
        GradCheck.of(v -> Variable.attention(v[0].permute(0, 2, 1, 3), v[1].permute(0, 2, 1, 3), v[1].permute(0, 2, 1, 3), null, true, 0.5))
                .input("x", x.data()).input("y", y.data()).run().assertBelow(TOLERANCE);
    }

    @Test
    void noGraphIsRecordedWithoutGradients() {
        Variable q = Variable.constant(T.randn(1, 1, 2, 3, 4)), k = Variable.constant(T.randn(2, 1, 2, 3, 4));
        Variable out = Variable.attention(q, k, k, null, false, 1.0);
        assertFalse(out.requiresGrad());
        assertNull(out.gradFn());
    }

    private static void assertClose(String what, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - actual[i]) > 1e-10 + 1e-10 * Math.abs(expected[i])) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
