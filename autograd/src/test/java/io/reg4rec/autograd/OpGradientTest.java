package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/** A finite-difference gradient check (F64, CPU) for every differentiable op, edge cases included. */
class OpGradientTest {
    private static final double TOLERANCE = 1e-5;

    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    private static GradCheck.Result check(Function<Variable[], Variable> f, Object... namesAndTensors) {
        GradCheck c = GradCheck.of(f);
        for (int i = 0; i < namesAndTensors.length; i += 2) c.input((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
        return c.run().assertBelow(TOLERANCE);
    }

    // ---------------------------------------------------------------- binary with broadcasting

    @Test
    void addSubMulDivSameShape() {
        Tensor a = T.randn(1, 3, 4), b = T.uniform(2, 0.5, 2.0, 3, 4);
        check(v -> v[0].add(v[1]), "a", a, "b", b);
        check(v -> v[0].sub(v[1]), "a", a, "b", b);
        check(v -> v[0].mul(v[1]), "a", a, "b", b);
        check(v -> v[0].div(v[1]), "a", a, "b", b);
    }

    @Test
    void binaryOpsSumGradientsOverBroadcastAxes() {
        Tensor a = T.randn(3, 2, 3, 4);
        Tensor column = T.uniform(4, 0.5, 2.0, 3, 1);   // stretched axis and a missing leading axis
        Tensor row = T.uniform(5, 0.5, 2.0, 4);           // two missing leading axes
        Tensor both = T.uniform(6, 0.5, 2.0, 2, 1, 4);   // broadcasts against column in both directions
        for (Tensor b : new Tensor[]{column, row}) {
            check(v -> v[0].add(v[1]), "a", a, "b", b);
            check(v -> v[0].sub(v[1]), "a", a, "b", b);
            check(v -> v[0].mul(v[1]), "a", a, "b", b);
            check(v -> v[0].div(v[1]), "a", a, "b", b);
            check(v -> v[1].div(v[0].mul(v[0]).add(1.0)), "a", a, "b", b);
        }
        check(v -> v[0].mul(v[1]), "column", column, "both", both);
        check(v -> v[0].div(v[1]), "column", column, "both", both);
    }

    @Test
    void sameVariableOnBothSides() {
        Tensor x = T.uniform(7, 0.5, 2.0, 5);
        check(v -> v[0].mul(v[0]), "x", x);
        check(v -> v[0].div(v[0].add(1.0)), "x", x);
        check(v -> v[0].sub(v[0].square()), "x", x);
    }

    // ---------------------------------------------------------------- scalars and unary

    @Test
    void scalarOps() {
        Tensor x = T.uniform(8, 0.5, 2.0, 2, 3);
        check(v -> v[0].add(0.7), "x", x);
        check(v -> v[0].sub(1.3).mul(v[0]), "x", x);
        check(v -> v[0].mul(-1.7), "x", x);
        check(v -> v[0].div(2.5), "x", x);
        check(v -> v[0].rsub(2.0).mul(v[0]), "x", x);
        check(v -> v[0].rdiv(3.0), "x", x);
        check(v -> v[0].neg(), "x", x);
        for (double p : new double[]{2, 3, 0.5, -1.5, 1}) check(v -> v[0].pow(p), "x", x);
    }

    @Test
    void unaryOps() {
        Tensor x = T.randn(9, 3, 5);
        Tensor positive = T.uniform(10, 0.3, 3.0, 3, 5);
        check(v -> v[0].exp(), "x", x);
        check(v -> v[0].log(), "x", positive);
        check(v -> v[0].sqrt(), "x", positive);
        check(v -> v[0].rsqrt(), "x", positive);
        check(v -> v[0].tanh(), "x", x);
        check(v -> v[0].sigmoid(), "x", x);
        check(v -> v[0].relu(), "x", x);
        check(v -> v[0].gelu(), "x", x);
        check(v -> v[0].mul(3.0).gelu(), "x", x);
    }

    @Test
    void reluGradientIsZeroOnNegativesAndOneOnPositives() {
        Variable x = Variable.input(T.of(new double[]{-2, -0.5, 0.5, 3}, 4), "x");
        x.relu().sumAll().backward();
        assertArrayEquals(new double[]{0, 0, 1, 1}, T.values(x.grad()));
        x.zeroGrad();
    }

    // ---------------------------------------------------------------- matmul

    @Test
    void matmulRank2() {
        check(v -> v[0].matmul(v[1]), "a", T.randn(11, 3, 4), "b", T.randn(12, 4, 5));
    }

    @Test
    void matmulRank3AndBatchBroadcast() {
        Tensor a3 = T.randn(13, 2, 3, 4), b3 = T.randn(14, 2, 4, 5);
        Tensor a2 = T.randn(15, 3, 4), b2 = T.randn(16, 4, 5);
        Tensor a1 = T.randn(17, 1, 3, 4);
        check(v -> v[0].matmul(v[1]), "a", a3, "b", b3);
        check(v -> v[0].matmul(v[1]), "a", a3, "b", b2);
        check(v -> v[0].matmul(v[1]), "a", a2, "b", b3);
        check(v -> v[0].matmul(v[1]), "a", a1, "b", b3);
    }

    @Test
    void matmulOfTransposedViews() {
        Tensor a = T.randn(18, 4, 3), b = T.randn(19, 5, 4);
        check(v -> v[0].transpose(0, 1).matmul(v[1].transpose(0, 1)), "a", a, "b", b);
        Tensor a3 = T.randn(20, 2, 4, 3);
        check(v -> v[0].transpose(1, 2).matmul(v[0]), "a", a3);
    }

    // ---------------------------------------------------------------- reductions

    @Test
    void sumAndMeanAlongAxes() {
        Tensor x = T.randn(21, 2, 3, 4);
        for (int axis : new int[]{0, 1, 2, -1}) {
            for (boolean keep : new boolean[]{true, false}) {
                check(v -> v[0].sum(axis, keep), "x", x);
                check(v -> v[0].mean(axis, keep), "x", x);
            }
        }
        check(v -> v[0].sumAll(), "x", x);
        check(v -> v[0].meanAll(), "x", x);
        check(v -> v[0].sum(1, false).tanh().sumAll(), "x", x);
    }

    @Test
    void maxSendsGradientToTheArgmax() {
        Tensor x = T.randn(22, 3, 5);
        for (boolean keep : new boolean[]{true, false}) {
            check(v -> v[0].max(1, keep), "x", x);
            check(v -> v[0].max(0, keep), "x", x);
        }
        Variable y = Variable.input(T.of(new double[]{1, 7, 3, 9, 2, 4}, 2, 3), "y");
        y.max(1, false).sumAll().backward();
        assertArrayEquals(new double[]{0, 1, 0, 1, 0, 0}, T.values(y.grad()));
        y.zeroGrad();
    }

    @Test
    void softmaxAndLogSoftmax() {
        Tensor x = T.randn(23, 3, 5);
        for (int axis : new int[]{0, 1, -1}) {
            check(v -> v[0].softmax(axis), "x", x);
            check(v -> v[0].logSoftmax(axis), "x", x);
        }
        Tensor x3 = T.randn(24, 2, 3, 4);
        check(v -> v[0].softmax(1), "x", x3);
        check(v -> v[0].logSoftmax(1), "x", x3);
    }

    @Test
    void softmaxWithMaskedPositions() {
        Tensor scores = T.randn(25, 2, 3, 4);
        // a causal-style mask broadcast over the batch: 1 = masked
        Tensor mask = T.of(new double[]{0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1}, 3, 4);
        check(v -> v[0].maskedFill(mask, -1e9).softmax(-1), "scores", scores);
        check(v -> v[0].maskedFill(mask, -1e9).logSoftmax(-1).maskedFill(mask, 0.0), "scores", scores);
        Variable s = Variable.input(T.randn(26, 3, 4), "s");
        s.maskedFill(mask, -1e9).softmax(-1).mul(Variable.constant(T.randn(27, 3, 4))).sumAll().backward();
        double[] g = T.values(s.grad()), m = T.values(mask);
        for (int i = 0; i < g.length; i++) if (m[i] == 1) assertEquals(0.0, g[i], 0.0, "masked position " + i);
        s.zeroGrad();
    }

    @Test
    void maskedFillAndWhere() {
        Tensor x = T.randn(28, 2, 3), y = T.randn(29, 2, 3);
        Tensor mask = T.of(new double[]{1, 0, 1}, 3);
        check(v -> v[0].maskedFill(mask, 2.5), "x", x);
        check(v -> Variable.where(mask, v[0], v[1]), "x", x, "y", y);
        check(v -> Variable.where(mask, v[0], v[1].sum(0, true)), "x", x, "y", y);
    }

    // ---------------------------------------------------------------- views

    @Test
    void viewOps() {
        Tensor x = T.randn(30, 2, 3, 4);
        check(v -> v[0].reshape(6, 4), "x", x);
        check(v -> v[0].reshape(-1), "x", x);
        check(v -> v[0].transpose(0, 2), "x", x);
        check(v -> v[0].permute(2, 0, 1), "x", x);
        check(v -> v[0].permute(1, 2, 0).reshape(3, 8), "x", x);   // reshape of a non-contiguous view copies
        check(v -> v[0].slice(1, 1, 3), "x", x);
        check(v -> v[0].slice(2, 0, 1), "x", x);
        check(v -> v[0].select(1, 2), "x", x);
        check(v -> v[0].select(-1, 0), "x", x);
        check(v -> v[0].unsqueeze(1), "x", x);
        check(v -> v[0].unsqueeze(3).squeeze(3), "x", x);
        check(v -> v[0].slice(0, 1, 2).squeeze(0), "x", x);
        check(v -> v[0].select(0, 1).unsqueeze(0).expand(5, 3, 4), "x", x);
        Tensor row = T.randn(31, 1, 4);
        check(v -> v[0].expand(3, 4), "row", row);
        check(v -> v[0].expand(2, 3, 4), "row", row);
    }

    @Test
    void overlappingViewsOfOneVariableAccumulate() {
        Tensor x = T.randn(32, 4, 5);
        check(v -> v[0].slice(0, 0, 3).mul(v[0].slice(0, 1, 4)).add(v[0].transpose(0, 1).slice(1, 0, 3).transpose(0, 1)), "x", x);
        check(v -> v[0].select(1, 0).mul(v[0].select(1, 4)).add(v[0].sum(1, false)), "x", x);
    }

    // ---------------------------------------------------------------- indexing

    @Test
    void gatherWithRepeatedIndices() {
        Tensor x = T.randn(33, 2, 5);
        Tensor idx = T.index(new long[]{0, 4, 4, 1, 1, 1}, 2, 3);
        check(v -> v[0].gather(1, idx), "x", x);
        Tensor rows = T.index(new long[]{1, 0, 1, 1, 0}, 1, 5);
        check(v -> v[0].gather(0, rows), "x", x);
    }

    @Test
    void indexSelectIsAnEmbeddingLookup() {
        Tensor table = T.randn(34, 6, 3);
        Tensor ids = T.index(new long[]{5, 0, 5, 2, 5}, 5);
        check(v -> v[0].indexSelect(ids), "table", table);
        check(v -> v[0].indexSelect(ids).tanh().mul(v[0].indexSelect(ids)), "table", table);
        Tensor ids32 = Tensor.of(io.reg4rec.engine.Device.CPU, new int[]{1, 1, 3}, 3);
        check(v -> v[0].indexSelect(ids32), "table", table);
    }

    @Test
    void concatenation() {
        Tensor a = T.randn(35, 2, 3), b = T.randn(36, 2, 1), c = T.randn(37, 2, 4), none = T.randn(38, 2, 0);
        check(v -> Variable.concat(1, v[0], v[1], v[2]), "a", a, "b", b, "c", c);
        check(v -> Variable.concat(-1, v[0], v[1], v[0]), "a", a, "b", b);
        check(v -> Variable.concat(1, v[0], v[1]), "a", a, "empty", none);
        check(v -> Variable.concat(0, v[0], v[0].tanh()), "a", a);
    }

    @Test
    void castPassesGradientsBackConverted() {
        Variable x = Variable.input(T.of(new double[]{0.5, -1.25, 2}, 3), "x");
        Variable y = x.to(DType.F32);
        assertEquals(DType.F32, y.dtype());
        y.mul(y).sumAll().backward();
        assertEquals(DType.F64, x.grad().dtype());
        assertArrayEquals(new double[]{1.0, -2.5, 4.0}, T.values(x.grad()), 1e-6);
        x.zeroGrad();
        assertFalse(x.to(DType.I64).requiresGrad(), "an integer result carries no gradient");
        check(v -> v[0].to(DType.F64).mul(v[0]), "x", T.randn(39, 4));
    }

    @Test
    void bf16ForwardSendsF32GradientsToF32MasterWeights() {
        Tensor w0 = T.randn(48, 8, 4), x0 = T.randn(49, 5, 8);
        double[][] grads = new double[2][];
        for (int run = 0; run < 2; run++) {
            boolean bf16 = run == 1;
            Variable w = Variable.input(w0.to(DType.F32), "w");
            Variable x = Variable.constant(x0.to(DType.F32));
            Variable y = bf16 ? x.to(DType.BF16).matmul(w.to(DType.BF16)).to(DType.F32) : x.matmul(w);
            y.tanh().sumAll().backward();
            assertEquals(DType.F32, w.grad().dtype());
            grads[run] = T.values(w.grad());
            w.zeroGrad();
        }
        double scale = 0;
        for (double g : grads[0]) scale = Math.max(scale, Math.abs(g));
        assertArrayEquals(grads[0], grads[1], 0.05 * scale, "bf16 gradients within bf16 rounding of fp32");
    }

    // ---------------------------------------------------------------- losses and empty batches

    @Test
    void softmaxCrossEntropy() {
        Tensor logits = T.randn(40, 4, 6);
        Tensor targets = T.index(new long[]{5, 0, 3, 3}, 4);
        check(v -> Losses.softmaxCrossEntropy(v[0], targets), "logits", logits);
    }

    @Test
    void emptyBatchForwardWorksAndGradientsAreEmpty() {
        Tensor x = T.randn(41, 0, 3), w = T.randn(42, 3, 4), b = T.randn(43, 4);
        Function<Variable[], Variable> mlp = v -> v[0].matmul(v[1]).add(v[2]).gelu();
        GradCheck.Result r = check(mlp, "x", x, "w", w, "b", b);
        assertEquals(12 + 4, r.checkedElements(), "only the weights have elements");
        check(v -> v[0].matmul(v[1]).add(v[2]).relu().sum(0, false), "x", x, "w", w, "b", b);
        check(v -> v[0].softmax(1).sum(0, true), "x", x);
        check(v -> v[0].unsqueeze(0).matmul(v[1]).sumAll(), "x", x, "w", w);

        Variable xv = Variable.input(T.randn(44, 0, 3), "x");
        Variable wv = Variable.input(T.randn(45, 3, 4), "w");
        Variable loss = Losses.softmaxCrossEntropy(xv.matmul(wv), T.index(new long[0], 0));
        assertEquals(0.0, loss.item(), 0.0);
        loss.backward();
        assertArrayEquals(new int[]{0, 3}, xv.grad().shape());
        assertArrayEquals(new double[12], T.values(wv.grad()));
        xv.zeroGrad();
        wv.zeroGrad();

        Tensor ids = T.index(new long[0], 0);
        check(v -> v[0].indexSelect(ids), "table", T.randn(46, 5, 2));
        check(v -> v[0].gather(0, T.index(new long[0], 0, 2)), "table", T.randn(47, 5, 2));
    }
}
