package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** Hessian-vector products and Hutchinson traces on losses whose Hessian is known exactly. */
class HessianTest {
    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    /** A random symmetric n x n matrix as host values. */
    private static double[] symmetric(long seed, int n) {
        double[] m = T.values(T.randn(seed, n, n));
        double[] s = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) s[i * n + j] = (m[i * n + j] + m[j * n + i]) / 2;
        return s;
    }

    private static double[] times(double[] a, int rows, int cols, double[] v) {
        double[] r = new double[rows];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) r[i] += a[i * cols + j] * v[j];
        return r;
    }

    private static Tensor column(DType dtype, double[] v) {
        try (Tensor t = T.of(v, v.length, 1)) {
            return t.to(dtype);
        }
    }

    /** 0.5 wᵀAw + bᵀw, whose Hessian is A. */
    private static Supplier<Variable> quadratic(Variable w, Tensor a, Tensor b) {
        return () -> {
            Variable aw = Variable.constant(a).matmul(w);
            return w.mul(aw).sumAll().mul(0.5).add(w.mul(Variable.constant(b)).sumAll());
        };
    }

    private static void assertClose(double[] expected, double[] actual, double relative) {
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], relative * scale, "element " + i);
        }
    }

    @Test
    void hessianVectorProductOfAQuadraticIsExact() {
        int n = 6;
        double[] a = symmetric(1, n);
        double[] v = T.values(T.randn(2, n));
        for (DType dtype : new DType[]{DType.F64, DType.F32}) {
            try (Variable w = Variable.parameter(column(dtype, T.values(T.randn(3, n))), "w");
                 Tensor aT = T.of(a, n, n).to(dtype); Tensor bT = column(dtype, T.values(T.randn(4, n)))) {
                double[] before = T.values(w.data());
                List<Tensor> hv = Hessian.vectorProduct(quadratic(w, aT, bT), List.of(w), List.of(column(dtype, v)));
                assertClose(times(a, n, n, v), T.values(hv.get(0)), dtype == DType.F64 ? 1e-9 : 1e-3);
                assertArrayEquals(before, T.values(w.data()), 0.0, "parameters restored exactly");
            }
        }
    }

    @Test
    void productCoversTheCrossTermsOfAParameterGroupAndKeepsExistingGrads() {
        // L = 0.5 w1ᵀ A w1 + w1ᵀ B w2 + 0.5 w2ᵀ C w2: H = [[A, B], [Bᵀ, C]]
        double[] a = symmetric(5, 3), c = symmetric(6, 2);
        double[] b = T.values(T.randn(7, 3, 2));
        try (Variable w1 = Variable.parameter(column(DType.F64, T.values(T.randn(8, 3))), "w1");
             Variable w2 = Variable.parameter(column(DType.F64, T.values(T.randn(9, 2))), "w2");
             Variable other = Variable.parameter(T.of(new double[]{2}, 1, 1), "other")) {
            Variable ac = Variable.constant(T.of(a, 3, 3)), bc = Variable.constant(T.of(b, 3, 2)), cc = Variable.constant(T.of(c, 2, 2));
            Supplier<Variable> loss = () -> w1.mul(ac.matmul(w1)).sumAll().mul(0.5)
                    .add(w1.mul(bc.matmul(w2)).sumAll())
                    .add(w2.mul(cc.matmul(w2)).sumAll().mul(0.5))
                    .add(other.mul(other).sumAll());
            loss.get().backward();
            double[] w1Grad = T.values(w1.grad()), w2Grad = T.values(w2.grad()), otherGrad = T.values(other.grad());

            double[] v1 = {0.5, -1, 2}, v2 = {1.5, 0.25};
            List<Tensor> hv = Hessian.vectorProduct(loss, List.of(w1, w2), List.of(column(DType.F64, v1), column(DType.F64, v2)));
            double[] bt = new double[6];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) bt[j * 3 + i] = b[i * 2 + j];
            double[] top = times(a, 3, 3, v1), bv2 = times(b, 3, 2, v2);
            double[] bottom = times(c, 2, 2, v2), btv1 = times(bt, 2, 3, v1);
            for (int i = 0; i < 3; i++) top[i] += bv2[i];
            for (int i = 0; i < 2; i++) bottom[i] += btv1[i];
            assertClose(top, T.values(hv.get(0)), 1e-9);
            assertClose(bottom, T.values(hv.get(1)), 1e-9);
            assertArrayEquals(w1Grad, T.values(w1.grad()), 0.0, "gradients accumulated before are kept");
            assertArrayEquals(otherGrad, T.values(other.grad()), 0.0, "leaves outside the group are untouched");
            assertArrayEquals(w2Grad, T.values(w2.grad()), 0.0);
        }
    }

    @Test
    void defaultStepIsAccurateOnANonQuadraticLossInF32() {
        // L = sum(exp(w)): H = diag(exp(w))
        double[] w0 = {-1, -0.3, 0.2, 0.8, 1.1};
        double[] v = {1, -1, 0.5, 2, -0.7};
        try (Variable w = Variable.parameter(Tensor.of(Device.CPU, new float[]{-1, -0.3f, 0.2f, 0.8f, 1.1f}, 5), "w");
             Tensor vt = Tensor.of(Device.CPU, new float[]{1, -1, 0.5f, 2, -0.7f}, 5)) {
            List<Tensor> hv = Hessian.vectorProduct(() -> w.exp().sumAll(), List.of(w), List.of(vt));
            double[] expected = new double[5];
            for (int i = 0; i < 5; i++) expected[i] = Math.exp(w0[i]) * v[i];
            assertClose(expected, T.values(hv.get(0)), 2e-3);
        }
    }

    @Test
    void hutchinsonIsExactForADiagonalHessianAndConvergesOtherwise() {
        int n = 8;
        double[] diag = new double[n * n];
        double trace = 0;
        for (int i = 0; i < n; i++) { diag[i * n + i] = i - 2.5; trace += i - 2.5; }
        try (Variable w = Variable.parameter(column(DType.F64, T.values(T.randn(10, n))), "w");
             Tensor dT = T.of(diag, n, n); Tensor bT = column(DType.F64, new double[n])) {
            Hessian.TraceEstimate exact = Hessian.hutchinsonTrace(quadratic(w, dT, bT), List.of(w), 3, 11);
            for (double s : exact.sampleValues()) assertEquals(trace, s, 1e-9);
        }

        double[] a = symmetric(12, n);
        double trA = 0, offDiagonal = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
            if (i == j) trA += a[i * n + i];
            else offDiagonal += a[i * n + j] * a[i * n + j];
        }
        double sampleStd = Math.sqrt(2 * offDiagonal);
        try (Variable w = Variable.parameter(column(DType.F64, T.values(T.randn(13, n))), "w");
             Tensor aT = T.of(a, n, n); Tensor bT = column(DType.F64, T.values(T.randn(14, n)))) {
            Hessian.TraceEstimate few = Hessian.hutchinsonTrace(quadratic(w, aT, bT), List.of(w), 10, 15);
            Hessian.TraceEstimate many = Hessian.hutchinsonTrace(quadratic(w, aT, bT), List.of(w), 400, 15);
            assertEquals(trA, many.trace(), 4 * sampleStd / Math.sqrt(400), "estimate " + many + " vs trace " + trA);
            assertEquals(sampleStd / Math.sqrt(400), many.standardError(), 0.3 * sampleStd / Math.sqrt(400), "standard error matches theory");
            assertTrue(many.standardError() < few.standardError());
            Hessian.TraceEstimate again = Hessian.hutchinsonTrace(quadratic(w, aT, bT), List.of(w), 10, 15);
            assertArrayEquals(few.sampleValues(), again.sampleValues(), 0.0, "seeded: runs repeat");
        }
    }
}
