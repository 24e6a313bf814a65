package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Gradient checks (F64, CPU) of Variable.codewordSum and Variable.jsDivergence, plus their CUDA agreement. */
class QuantizationOpsTest {
    private static final double TOLERANCE = 1e-6;
    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    static Tensor indices(long seed, int n, int m, int d) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] v = new int[n * m];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(d);
        v[0] = v[m] = 1;   // two items share a codeword of codebook 0: the scatter must add both
        return Tensor.of(Device.CPU, v, n, m);
    }

    @Test
    void codewordSumGradientsWrtCodebooksAndGates() {
        Tensor idx = indices(1, 6, 3, 4);
        GradCheck.of(v -> Variable.codewordSum(v[0], idx, v[1]).tanh())
                .input("codebooks", T.randn(2, 3, 4, 5)).input("gates", T.uniform(3, 0.1, 1.0, 6, 3))
                .run().assertBelow(TOLERANCE);
    }

    @Test
    void codewordSumWithoutGradientSavesNothing() {
        try (NoGrad ignored = NoGrad.enter()) {
            Variable cb = Variable.input(T.randn(4, 2, 3, 4), "cb"), g = Variable.input(T.uniform(5, 0, 1, 5, 2), "g");
            Variable q = Variable.codewordSum(cb, indices(6, 5, 2, 3), g);
            assertNull(q.gradFn());
            assertArrayEquals(new int[]{5, 4}, q.shape());
        }
    }

    @Test
    void jsDivergenceGradientsOnPositiveProbabilities() {
        GradCheck.of(v -> v[0].softmax(1).jsDivergence(v[1].softmax(1)))
                .input("p logits", T.randn(7, 4, 9)).input("q logits", T.randn(8, 4, 9))
                .run().assertBelow(TOLERANCE);
        GradCheck.of(v -> v[0].jsDivergence(v[1]).mul(v[0].sum(1, false)))
                .input("p", T.uniform(9, 0.05, 1.0, 3, 5)).input("q", T.uniform(10, 0.05, 1.0, 3, 5))
                .run().assertBelow(TOLERANCE);
    }

    @Test
    void jsDivergenceWithZeroEntriesHasFiniteGradients() {
        Variable p = Variable.input(T.of(new double[]{0.5, 0.5, 0, 0, 1, 0}, 2, 3), "p");
        Variable q = Variable.input(T.of(new double[]{0, 0.5, 0.5, 0, 0, 1}, 2, 3), "q");
        Variable js = p.jsDivergence(q);
        double[] v = T.values(js.data());
        double ln2 = Math.log(2);
        assertEquals(0.5 * 0.5 * ln2 + 0.5 * 0.5 * ln2, v[0], 1e-15);  // the disjoint halves contribute, the shared one not
        assertEquals(ln2, v[1], 1e-15);
        js.sumAll().backward();
        double[] gp = T.values(p.grad()), gq = T.values(q.grad());
        for (double x : gp) assertTrue(Double.isFinite(x));
        for (double x : gq) assertTrue(Double.isFinite(x));
        assertEquals(0.5 * ln2, gp[0], 1e-15);   // q = 0 there: d/dp = 0.5 log 2
        assertEquals(0.0, gp[2], 0.0);           // p = 0: the documented zero subgradient
        assertEquals(0.0, gq[0], 0.0);
        assertEquals(0.0, gp[1], 1e-15);         // p = q: log 1
    }

    @Tag("gpu")
    @Test
    void cudaAgreesWithCpu() {
        assumeTrue(Engine.cudaAvailable(), "CUDA unavailable");
        Device gpu = Device.cuda(0);
        float[][][] results = new float[2][][];
        Device[] devices = {Device.CPU, gpu};
        Tensor cb0 = T.randn(11, 3, 50, 16).to(DType.F32), g0 = T.uniform(12, 0, 1, 40, 3).to(DType.F32);
        Tensor p0 = T.randn(13, 40, 16).to(DType.F32), q0 = T.randn(14, 40, 16).to(DType.F32);
        Tensor idx0 = indices(15, 40, 3, 50);
        for (int i = 0; i < 2; i++) {
            try (Scope s = Scope.open()) {
                Device dev = devices[i];
                Variable cb = Variable.input(cb0.to(dev), "cb"), g = Variable.input(g0.to(dev), "g");
                Variable p = Variable.input(p0.to(dev), "p"), q = Variable.input(q0.to(dev), "q");
                Variable qn = Variable.codewordSum(cb, idx0.to(dev), g);
                Variable loss = qn.softmax(1).jsDivergence(p.softmax(1).add(q.softmax(1)).mul(0.5)).sumAll();
                loss.backward();
                results[i] = new float[][]{loss.data().toFloatArray(), cb.grad().toFloatArray(), g.grad().toFloatArray(),
                        p.grad().toFloatArray(), q.grad().toFloatArray()};
            }
        }
        for (int k = 0; k < results[0].length; k++) {
            float[] e = results[0][k], a = results[1][k];
            for (int j = 0; j < e.length; j++) assertEquals(e[j], a[j], 1e-4 * Math.abs(e[j]) + 1e-6, "result " + k + " element " + j);
        }
    }
}
