package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The fused attention path against the composed one (matmul, masked fill, softmax), values and gradients. */
class MultiHeadAttentionPathsTest {
    private static double[] values(Tensor t) {
        try (Tensor d = t.to(DType.F64)) {
            return (double[]) d.toHost();
        }
    }

    private static void assertClose(String what, double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol * (1 + Math.abs(expected[i])),
                    what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }

    @Test
    void fusedAndComposedPathsAgreeWhenEveryQuerySeesAKey() {
        try (Scope s = Scope.open(); MultiHeadAttention attn = new MultiHeadAttention(Device.CPU, DType.F64, 8, 2, 0.0, 7)) {
            Tensor x = Tensor.randn(Device.CPU, DType.F64, 1, 3, 5, 8), memory = Tensor.randn(Device.CPU, DType.F64, 2, 3, 6, 8);
            Tensor selfPad = Tensor.of(Device.CPU, new long[]{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0}, 3, 5);
            Tensor memPad = Tensor.of(Device.CPU, new long[]{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0}, 3, 6);
            Tensor g = Tensor.randn(Device.CPU, DType.F64, 3, 3, 5, 8);
            for (int c = 0; c < 2; c++) {
                boolean cross = c == 1;
                double[][] results = new double[2][];
                double[][] grads = new double[2][];
                for (int path = 0; path < 2; path++) {
                    Variable q = Variable.input(x, "x"), m = Variable.input(memory, "memory");
                    Variable out = cross ? attn.forward(q, m, memPad, false, path == 0) : attn.forward(q, q, selfPad, true, path == 0);
                    out.backward(g);
                    results[path] = values(out.data());
                    grads[path] = values((cross ? m : q).grad());
                    attn.zeroGrad();
                }
                assertClose((cross ? "cross" : "causal self") + " out", results[1], results[0], 1e-12);
                assertClose((cross ? "cross" : "causal self") + " input gradient", grads[1], grads[0], 1e-12);
            }
        }
    }

    @Test
    void evalModeUsesTheFusedPathEvenWithAttentionDropout() {
        try (Scope s = Scope.open(); MultiHeadAttention attn = new MultiHeadAttention(Device.CPU, DType.F64, 8, 2, 0.5, 7)) {
            attn.eval();
            Variable x = Variable.constant(Tensor.randn(Device.CPU, DType.F64, 1, 2, 4, 8));
            double[] a = values(attn.selfAttention(x, null, true).data()), b = values(attn.forward(x, x, null, true, true).data());
            assertArrayEquals(b, a);
            // a fully padded batch row: the fused path defines its attention output as 0, so the layer gives the output bias
            Tensor pad = Tensor.of(Device.CPU, new long[]{0, 0, 0, 0, 1, 1, 1, 1}, 2, 4);
            double[] out = values(attn.selfAttention(x, pad, false).data());
            for (double v : out) assertTrue(Double.isFinite(v));
        }
    }
}
