package io.reg4rec.autograd;

import io.reg4rec.engine.CounterRng;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Finite-difference checks (F64, CPU) of the train-step fusions (dropout, residual dropout, bias + GELU), and the dropout gradient against its mask. */
class TrainStepFusionGradientTest {
    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    @Test
    void gradCheck() {
        Tensor x = T.randn(1, 3, 4, 5);
        GradCheck.of(v -> v[0].dropout(42, 0.3)).input("x", x).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].transpose(0, 2).dropout(7, 0.5)).input("x", x).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].addDropout(v[1], 3, 0.4)).input("residual", T.randn(4, 3, 4, 5)).input("x", x).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].addDropout(v[1], v[2], 5, 0.3)).input("residual", T.randn(6, 3, 4, 5)).input("x", x).input("bias", T.randn(7, 5))
                .run().assertBelow(1e-6);
    }

    @Test
    void gradientIsTheScaledMask() {
        Variable x = Variable.input(T.randn(2, 50), "x");
        Tensor dy = T.randn(3, 50);
        x.dropout(9, 0.25).backward(dy);
        double[] g = T.values(x.grad()), d = T.values(dy);
        for (int i = 0; i < 50; i++) {
            double expected = CounterRng.uniform(9, i) >= 0.25 ? d[i] / 0.75 : 0.0;
            assertEquals(expected, g[i], 1e-12, "element " + i);
        }
    }

    @Test
    void biasGeluGradCheck() {
        GradCheck.of(v -> v[0].biasGelu(v[1])).input("x", T.randn(11, 2, 3, 6)).input("bias", T.randn(12, 6)).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].biasGelu(null)).input("x", T.randn(13, 4, 5)).run().assertBelow(1e-6);
    }

    @Test
    void matmulWithTransposedRightOperandsGradCheck() {
        // gradients of transposed right operands are computed in their own layout: x W^T (2-D and
        // batched rows) and q k^T (a batch of transposed matrices)
        GradCheck.of(v -> v[0].matmul(v[1].transpose(0, 1))).input("x", T.randn(21, 5, 4)).input("w", T.randn(22, 3, 4)).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].matmul(v[1].transpose(0, 1))).input("x", T.randn(23, 2, 5, 4)).input("w", T.randn(24, 3, 4)).run().assertBelow(1e-6);
        GradCheck.of(v -> v[0].matmul(v[1].transpose(1, 2))).input("q", T.randn(25, 2, 5, 4)).input("k", T.randn(26, 2, 6, 4)).run().assertBelow(1e-6);
    }

    @Test
    void addBiasSplitHeadsGradCheckAndLayout() {
        GradCheck.of(v -> v[0].addBiasSplitHeads(v[1], 2)).input("x", T.randn(31, 2, 3, 4)).input("bias", T.randn(32, 4)).run().assertBelow(1e-6);
        Variable x = Variable.input(T.randn(33, 2, 3, 6), "x"), bias = Variable.input(T.randn(34, 6), "bias");
        Variable heads = x.addBiasSplitHeads(bias, 3);
        double[] expected = T.values(x.data().add(bias.data()).reshape(2, 3, 3, 2).permute(0, 2, 1, 3).contiguous());
        assertArrayEquals(expected, T.values(heads.data()), 0.0);
        assertTrue(heads.data().isContiguous());
    }
}
