package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Finite-difference checks (F64, CPU) of the fused layer norm and cross-entropy, and agreement with the composed ops. */
class FusedOpGradientTest {
    private static final double TOLERANCE = 1e-6;

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    @Test
    void layerNormWithAndWithoutAffineParameters() {
        Tensor x = T.randn(1, 2, 3, 5), gamma = T.uniform(2, 0.5, 1.5, 5), beta = T.randn(3, 5);
        GradCheck.of(v -> v[0].layerNorm(v[1], v[2], 1e-5)).input("x", x).input("gamma", gamma).input("beta", beta).run().assertBelow(TOLERANCE);
        GradCheck.of(v -> v[0].layerNorm(null, null, 1e-5)).input("x", x).run().assertBelow(TOLERANCE);
        GradCheck.of(v -> v[0].layerNorm(v[1], null, 1e-5)).input("x", x).input("gamma", gamma).run().assertBelow(TOLERANCE);
        GradCheck.of(v -> v[0].layerNorm(null, v[1], 1e-5)).input("x", x).input("beta", beta).run().assertBelow(TOLERANCE);
        // one column: the output is beta whatever x is
        GradCheck.of(v -> v[0].layerNorm(v[1], v[2], 1e-3)).input("x", T.randn(4, 3, 1)).input("gamma", T.randn(5, 1)).input("beta", T.randn(6, 1))
                .run().assertBelow(TOLERANCE);
    }

    @Test
    void layerNormOfAnEmptyBatchHasZeroParameterGradients() {
        Variable x = Variable.input(Tensor.zeros(Device.CPU, DType.F64, 0, 4), "x");
        Variable gamma = Variable.input(Tensor.ones(Device.CPU, DType.F64, 4), "gamma");
        Variable beta = Variable.input(Tensor.zeros(Device.CPU, DType.F64, 4), "beta");
        x.layerNorm(gamma, beta, 1e-5).sumAll().backward();
        assertArrayEquals(new double[4], T.values(gamma.grad()));
        assertArrayEquals(new double[4], T.values(beta.grad()));
        assertEquals(0, x.grad().numel());
    }

    @Test
    void layerNormEqualsTheComposedOps() {
        Tensor xs = T.randn(7, 3, 4, 6), gs = T.uniform(8, 0.5, 1.5, 6), bs = T.randn(9, 6), dy = T.randn(10, 3, 4, 6);
        double[][] fused = layerNormRun(xs, gs, bs, dy, true), composed = layerNormRun(xs, gs, bs, dy, false);
        for (int k = 0; k < fused.length; k++) {
            for (int i = 0; i < fused[k].length; i++) assertEquals(composed[k][i], fused[k][i], 1e-12, "result " + k + " element " + i);
        }
    }

    /** {out, grad x, grad gamma, grad beta}. */
    private static double[][] layerNormRun(Tensor xs, Tensor gs, Tensor bs, Tensor dy, boolean fusedOp) {
        Variable x = Variable.input(xs, "x"), gamma = Variable.input(gs, "gamma"), beta = Variable.input(bs, "beta");
        Variable out;
        if (fusedOp) {
            out = x.layerNorm(gamma, beta, 1e-5);
        } else {
            Variable centred = x.sub(x.mean(-1, true));
            Variable variance = centred.square().mean(-1, true);
            out = centred.mul(variance.add(1e-5).rsqrt()).mul(gamma).add(beta);
        }
        out.backward(dy);
        double[][] r = {T.values(out.data()), T.values(x.grad()), T.values(gamma.grad()), T.values(beta.grad())};
        x.zeroGrad();
        gamma.zeroGrad();
        beta.zeroGrad();
        return r;
    }

    @Test
    void crossEntropyWithIgnoredRowsAndSmoothing() {
        Tensor targets = T.index(new long[]{4, -100, 0, 2, -100, 1}, 2, 3);
        for (double smoothing : new double[]{0, 0.2, 1}) {
            GradCheck.of(v -> v[0].crossEntropy(targets, -100, smoothing)).input("logits", T.randn(11, 2, 3, 5)).run().assertBelow(TOLERANCE);
        }
        Tensor i32 = Tensor.of(Device.CPU, new int[]{3, 7, 0}, 3);
        GradCheck.of(v -> v[0].crossEntropy(i32, 7, 0.1)).input("logits", T.randn(12, 3, 4)).run().assertBelow(TOLERANCE);
    }

    @Test
    void crossEntropyOfAnEmptyBatch() {
        Variable logits = Variable.input(Tensor.zeros(Device.CPU, DType.F64, 0, 6), "logits");
        Variable losses = logits.crossEntropy(T.index(new long[0], 0), -100, 0.1);
        assertArrayEquals(new int[]{0}, losses.shape());
        losses.sumAll().backward();
        assertArrayEquals(new int[]{0, 6}, logits.grad().shape());
        GradCheck.of(v -> v[0].crossEntropy(T.index(new long[0], 0), -100, 0.1)).input("logits", Tensor.zeros(Device.CPU, DType.F64, 0, 6)).run();
    }

    @Test
    void crossEntropyEqualsTheComposedOps() {
        Tensor ls = T.randn(13, 5, 7);
        Tensor targets = T.index(new long[]{6, -100, 0, 3, 3}, 5);
        Tensor safe = T.index(new long[]{6, 0, 0, 3, 3}, 5, 1);
        Tensor weights = T.of(new double[]{1, 0, 1, 1, 1}, 5, 1);
        double smoothing = 0.1;
        Variable a = Variable.input(ls, "a");
        Variable fused = a.crossEntropy(targets, -100, smoothing);
        fused.sumAll().backward();
        Variable b = Variable.input(ls, "b");
        Variable logp = b.logSoftmax(1);
        Variable composed = logp.gather(1, safe).neg().mul(1 - smoothing).add(logp.mean(1, true).mul(-smoothing)).mul(Variable.constant(weights));
        composed.sumAll().backward();
        double[] f = T.values(fused.data()), c = T.values(composed.data());
        for (int i = 0; i < f.length; i++) assertEquals(c[i], f[i], 1e-12);
        double[] gf = T.values(a.grad()), gc = T.values(b.grad());
        for (int i = 0; i < gf.length; i++) assertEquals(gc[i], gf[i], 1e-12);
    }

    @Test
    void noGraphIsKeptWithoutGradients() {
        Variable x = Variable.constant(T.randn(14, 3, 4));
        Variable y = x.layerNorm(null, null, 1e-5);
        assertFalse(y.requiresGrad());
        assertFalse(x.crossEntropy(T.index(new long[]{0, 1, 2}, 3), -100, 0).requiresGrad());
    }
}
