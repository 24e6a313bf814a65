package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** LayerNorm and CrossEntropy, now fused, give what their former composition of primitives gave (values and gradients). */
class FusedLayersTest {

    private static double[] values(Tensor t) {
        try (Tensor d = t.to(DType.F64)) {
            return (double[]) d.toHost();
        }
    }

    private static void assertAllClose(String what, double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], tol, what + " element " + i);
    }

    @Test
    void layerNormModuleEqualsTheComposedFormula() {
        for (DType dtype : new DType[]{DType.F64, DType.F32}) {
            double tol = dtype == DType.F64 ? 1e-12 : 2e-6;
            try (Scope s = Scope.open(); LayerNorm norm = new LayerNorm(Device.CPU, dtype, 9, 1e-5)) {
                Variable gamma = norm.namedParameters().get("weight"), beta = norm.namedParameters().get("bias");
                gamma.update(Tensor.random(Device.CPU, dtype, io.reg4rec.engine.Distribution.UNIFORM, 1, 0.5, 1.5, 9));
                beta.update(Tensor.randn(Device.CPU, dtype, 2, 9));
                Tensor xs = Tensor.randn(Device.CPU, dtype, 3, 2, 5, 9).mul(2).add(1), dy = Tensor.randn(Device.CPU, dtype, 4, 2, 5, 9);

                Variable x1 = Variable.input(xs, "x");
                Variable fused = norm.forward(x1);
                fused.backward(dy);
                double[] out1 = values(fused.data()), gx1 = values(x1.grad()), gg1 = values(gamma.grad()), gb1 = values(beta.grad());
                norm.zeroGrad();

                Variable x2 = Variable.input(xs, "x");
                Variable centred = x2.sub(x2.mean(-1, true));
                Variable composed = centred.mul(centred.square().mean(-1, true).add(1e-5).rsqrt()).mul(gamma).add(beta);
                composed.backward(dy);
                assertAllClose(dtype + " out", values(composed.data()), out1, tol);
                assertAllClose(dtype + " grad x", values(x2.grad()), gx1, tol * 10);
                assertAllClose(dtype + " grad gamma", values(gamma.grad()), gg1, tol * 10);
                assertAllClose(dtype + " grad beta", values(beta.grad()), gb1, tol * 10);
                norm.zeroGrad();
            }
        }
    }

    @Test
    void crossEntropyEqualsTheComposedFormula() {
        try (Scope s = Scope.open()) {
            Tensor ls = Tensor.randn(Device.CPU, DType.F64, 5, 2, 4, 6);
            Tensor targets = Tensor.of(Device.CPU, new long[]{5, -100, 0, 2, 2, -100, 1, 3}, 2, 4);
            for (double eps : new double[]{0, 0.1}) {
                Variable a = Variable.input(ls, "a");
                Variable fused = CrossEntropy.loss(a, targets, -100, eps);
                fused.backward();

                // the module's former composition
                Variable b = Variable.input(ls, "b");
                Tensor flat = targets.reshape(8, 1), valid = flat.binary(BinaryOp.NE, -100);
                Tensor safe = flat.mul(valid), weights = valid.to(DType.F64), count = weights.sumAll().binary(BinaryOp.MAX, 1.0);
                Variable logp = b.reshape(8, 6).logSoftmax(1);
                Variable perRow = logp.gather(1, safe).neg();
                if (eps > 0) perRow = perRow.mul(1 - eps).add(logp.mean(1, true).mul(-eps));
                Variable composed = perRow.mul(Variable.constant(weights)).sumAll().div(Variable.constant(count));
                composed.backward();

                assertEquals(composed.item(), fused.item(), 1e-12, "loss, eps " + eps);
                assertAllClose("gradient, eps " + eps, values(b.grad()), values(a.grad()), 1e-12);
            }
        }
    }

    @Test
    void bf16LogitsGiveABf16Loss() {
        try (Scope s = Scope.open()) {
            Variable logits = Variable.input(Tensor.randn(Device.CPU, DType.BF16, 6, 3, 5), "logits");
            Variable loss = CrossEntropy.loss(logits, Tensor.of(Device.CPU, new int[]{1, 4, 0}, 3));
            assertEquals(DType.BF16, loss.dtype());
            loss.backward();
            assertEquals(DType.BF16, logits.grad().dtype());
            logits.zeroGrad();
        }
    }
}
