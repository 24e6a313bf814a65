package io.reg4rec.autograd;

import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The backward pass itself: accumulation, error messages, graph retention, no-grad mode. */
class BackwardTest {
    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open(); }

    @AfterEach
    void close() { scope.close(); }

    private static Variable param(double... values) {
        return Variable.parameter(T.of(values, values.length), "p");
    }

    @Test
    void diamondGraphAccumulatesBothPaths() {
        try (Variable x = param(1, 2, 3)) {
            x.mul(x).add(x).sumAll().backward();   // d/dx (x^2 + x) = 2x + 1
            assertArrayEquals(new double[]{3, 5, 7}, T.values(x.grad()), 1e-12);
        }
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        try (Variable x = param(1, -2)) {
            x.mul(3.0).sumAll().backward();
            x.mul(3.0).sumAll().backward();
            assertArrayEquals(new double[]{6, 6}, T.values(x.grad()), 1e-12);
            x.zeroGrad();
            assertNull(x.grad());
            x.mul(3.0).sumAll().backward();
            assertArrayEquals(new double[]{3, 3}, T.values(x.grad()), 1e-12);
        }
    }

    @Test
    void nonScalarBackwardNeedsAnOutputGradient() {
        try (Variable x = param(1, 2, 3)) {
            Variable y = x.mul(2.0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
            assertTrue(e.getMessage().contains("not a scalar") && e.getMessage().contains("[3]"), e.getMessage());
            y.backward(T.of(new double[]{1, 10, 100}, 3));
            assertArrayEquals(new double[]{2, 20, 200}, T.values(x.grad()), 1e-12);
        }
    }

    @Test
    void mismatchedOutputGradientNamesBothShapes() {
        try (Variable x = Variable.parameter(T.randn(1, 2, 3), "x")) {
            Variable y = x.tanh();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> y.backward(T.randn(2, 3, 2)));
            assertTrue(e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        }
    }

    @Test
    void secondBackwardThroughAFreedGraphNamesTheOp() {
        try (Variable x = param(1, 2)) {
            Variable loss = x.exp().sumAll();
            loss.backward();
            IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
            assertTrue(e.getMessage().contains("'sumAll'") && e.getMessage().contains("retainGraph"), e.getMessage());
            Variable y = x.tanh();
            Variable l2 = y.sumAll();
            l2.backward();
            IllegalStateException e2 = assertThrows(IllegalStateException.class, () -> y.mul(y).sumAll().backward());
            assertTrue(e2.getMessage().contains("'tanh'"), e2.getMessage());
        }
    }

    @Test
    void retainGraphAllowsASecondBackward() {
        try (Variable x = param(0.5, -1)) {
            Variable loss = x.mul(x).sumAll();
            loss.backward(null, true);
            loss.backward(null, true);
            assertArrayEquals(new double[]{2, -4}, T.values(x.grad()), 1e-12);
            loss.backward();
            assertArrayEquals(new double[]{3, -6}, T.values(x.grad()), 1e-12);
            assertTrue(loss.gradFn().isFreed());
        }
    }

    @Test
    void backwardAfterTheGraphsScopeClosedIsAClearError() {
        try (Variable x = param(1, 2)) {
            Variable loss;
            try (Scope inner = Scope.open()) {
                loss = x.log().sumAll();
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
            assertTrue(e.getMessage().contains("'log'") || e.getMessage().contains("'sumAll'"), e.getMessage());
        }
    }

    @Test
    void deepGraphsNeedNoRecursion() {
        try (Variable x = param(1)) {
            Variable y = x;
            for (int i = 0; i < 20_000; i++) y = y.mul(1.0).add(0.0);
            y.sumAll().backward();
            assertArrayEquals(new double[]{1}, T.values(x.grad()), 1e-12);
        }
    }

    @Test
    void noGradRecordsNothingAndNests() {
        try (Variable x = param(1, 2)) {
            assertTrue(NoGrad.isGradEnabled());
            try (NoGrad outer = NoGrad.enter()) {
                Variable y = x.mul(2.0);
                assertFalse(y.requiresGrad());
                assertNull(y.gradFn());
                try (NoGrad inner = NoGrad.enter()) {
                    assertFalse(NoGrad.isGradEnabled());
                }
                assertFalse(NoGrad.isGradEnabled());
                assertThrows(IllegalStateException.class, () -> y.sumAll().backward());
            }
            assertTrue(NoGrad.isGradEnabled());
            assertTrue(x.mul(2.0).requiresGrad());
        }
    }

    @Test
    void constantsAndDetachStopGradients() {
        try (Variable x = param(1, 2)) {
            Variable c = Variable.constant(T.of(new double[]{3, 4}, 2));
            Variable y = x.mul(c).add(x.detach().mul(100.0));
            assertTrue(y.requiresGrad());
            y.sumAll().backward();
            assertArrayEquals(new double[]{3, 4}, T.values(x.grad()), 1e-12);
            assertNull(c.grad());
            assertFalse(c.mul(c).requiresGrad());
        }
    }

    @Test
    void backwardOnALeafSeedsItsGradient() {
        try (Variable x = Variable.parameter(T.of(new double[]{5}, 1), "x")) {
            x.backward();
            assertArrayEquals(new double[]{1}, T.values(x.grad()));
        }
    }

    @Test
    void leafGradientIsAPrivateCopyOfTheOutputGradient() {
        try (Variable x = Variable.parameter(T.randn(3, 2, 2), "x")) {
            Tensor seed = T.of(new double[]{1, 2, 3, 4}, 4);
            x.reshape(4).backward(seed);
            seed.fill(0);
            assertArrayEquals(new double[]{1, 2, 3, 4}, T.values(x.grad()));
        }
    }

    @Test
    void releaseGraphFreesSavedTensorsOfAnUnusedGraph() {
        try (Variable x = param(1, 2)) {
            Variable y = x.exp().mul(x);
            y.releaseGraph();
            assertTrue(y.gradFn().isFreed());
            assertThrows(IllegalStateException.class, () -> y.sumAll().backward());
        }
    }

    private static long inUseBytes() {
        return io.reg4rec.engine.Engine.backend(io.reg4rec.engine.Device.CPU).memoryStats().inUseBytes();
    }

    @Test
    void backwardReleasesSavedTensorsUnlessTheGraphIsRetained() {
        try (Variable x = Variable.parameter(T.randn(6, 64, 64), "x")) {
            long before = inUseBytes();
            Variable e = x.exp(), m = e.mul(x), loss = m.sumAll();
            loss.backward();
            e.close(); m.close(); loss.close();
            x.zeroGrad();
            assertEquals(before, inUseBytes(), "nothing outlives backward but the closed values");

            Variable e2 = x.exp(), m2 = e2.mul(x), loss2 = m2.sumAll();
            loss2.backward(null, true);
            e2.close(); m2.close(); loss2.close();
            x.zeroGrad();
            assertTrue(inUseBytes() > before, "a retained graph keeps its saved tensors");
            loss2.releaseGraph();
            assertEquals(before, inUseBytes());
        }
    }

    @Test
    void gradCheckNamesTheInputWithAWrongGradient() {
        // detach hides one path from the analytic gradient: analytic x, numeric 2x
        GradCheck.Result r = GradCheck.of(v -> v[0].tanh().add(v[1].detach().mul(v[1])))
                .input("y", T.randn(8, 3)).input("x", T.uniform(9, 1, 2, 3)).run();
        assertFalse(r.passed(1e-3));
        assertEquals("x", r.worstInput());
        assertEquals(0.5, r.maxError(), 1e-6);
        AssertionError e = assertThrows(AssertionError.class, () -> r.assertBelow(1e-3));
        assertTrue(e.getMessage().contains("x[" + r.worstIndex() + "]"), e.getMessage());
    }

    @Test
    void parametersAndGradsSurviveAStepScope() {
        try (Variable w = Variable.parameter(T.randn(4, 3, 2), "w")) {
            try (Scope step = Scope.open()) {
                w.matmul(Variable.constant(T.randn(5, 2, 2))).sumAll().backward();
            }
            assertFalse(w.data().isClosed());
            assertFalse(w.grad().isClosed());
            assertEquals(6, T.values(w.grad()).length);
        }
    }
}
