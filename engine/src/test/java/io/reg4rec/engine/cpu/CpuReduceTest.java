package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class CpuReduceTest {
    @Test
    void reductionsAlongEveryAxis() {
        int[] shape = {4, 7, 33};
        for (DType dt : new DType[]{DType.F64, DType.F32, DType.BF16, DType.I32, DType.I64}) {
            try (Tensor base = random(dt, 5, -50, 50, 33, 7, 4); Tensor x = base.permute(2, 1, 0)) { // strided input
                double[] xv = values(x);
                for (int axis = 0; axis < 3; axis++) {
                    for (ReduceOp op : ReduceOp.values()) {
                        try (Tensor r = x.reduce(op, axis, true)) {
                            double[] rv = values(r);
                            int[] rs = r.shape();
                            assertEquals(1, rs[axis]);
                            for (int o = 0; o < rv.length; o++) {
                                int[] c = coords(rs, o);
                                double acc = op == ReduceOp.SUM ? 0 : Double.NaN;
                                long arg = 0;
                                for (int j = 0; j < shape[axis]; j++) {
                                    c[axis] = j;
                                    double v = xv[(int) linear(shape, c)];
                                    if (op == ReduceOp.SUM) acc += v;
                                    else if (j == 0) acc = v;
                                    else if (op == ReduceOp.MAX || op == ReduceOp.ARGMAX) { if (v > acc) { acc = v; arg = j; } }
                                    else if (v < acc) { acc = v; arg = j; }
                                }
                                double expected = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN ? arg : rounded(dt, acc);
                                assertSame(expected, rv[o], op + " " + dt + " axis " + axis + " at " + o);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void backendAcceptsStridedInputsDirectly() {
        try (Tensor base = random(DType.F32, 12, -3, 3, 6, 5); Tensor x = base.transpose(0, 1); Tensor c = x.contiguous();
             Tensor viaView = Tensor.empty(CPU, DType.F32, 5, 1); Tensor viaCopy = c.sum(1, true);
             Tensor smView = Tensor.empty(CPU, DType.F32, 5, 6); Tensor smCopy = c.softmax(1)) {
            CpuBackend.instance().reduce(ReduceOp.SUM, x, 1, viaView);
            CpuBackend.instance().softmax(x, 1, false, smView);
            assertArrayEquals((float[]) viaCopy.toHost(), (float[]) viaView.toHost());
            assertArrayEquals((float[]) smCopy.toHost(), (float[]) smView.toHost());
        }
    }

    @Test
    void nanTiesAndEmpty() {
        try (Tensor x = Tensor.of(CPU, new float[]{1, Float.NaN, 3, 5, 5, 2}, 2, 3);
             Tensor mx = x.max(1, false); Tensor am = x.argmax(1, false); Tensor ai = x.argmin(1, false)) {
            double[] m = values(mx);
            assertTrue(Double.isNaN(m[0]), "max propagates NaN");
            assertEquals(5.0, m[1]);
            assertArrayEquals(new long[]{1, 0}, (long[]) am.toHost(), "first NaN / first of tied maxima");
            assertArrayEquals(new long[]{1, 2}, (long[]) ai.toHost());
        }
        try (Tensor e = Tensor.zeros(CPU, DType.F32, 3, 0); Tensor s = e.sum(1, false); Tensor s0 = e.sum(0, false)) {
            assertArrayEquals(new float[]{0, 0, 0}, (float[]) s.toHost());
            assertEquals(0, s0.numel());
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.max(1, false));
            assertTrue(ex.getMessage().contains("max"), ex.getMessage());
        }
    }

    @Test
    void largeSumsAreDeterministicAndSequential() {
        // Big enough to run on several threads; each output is the in-order double sum, rounded once.
        try (Tensor x = Tensor.randn(CPU, DType.F32, 3, 64, 40_000)) {
            float[] xv = (float[]) x.toHost();
            try (Tensor s1 = x.sum(1, false); Tensor s2 = x.sum(1, false); Tensor c = x.sum(0, false); Tensor all = x.sumAll()) {
                assertArrayEquals((float[]) s1.toHost(), (float[]) s2.toHost());
                float[] sv = (float[]) s1.toHost();
                for (int r = 0; r < 64; r++) {
                    double acc = 0;
                    for (int j = 0; j < 40_000; j++) acc += xv[r * 40_000 + j];
                    assertEquals((float) acc, sv[r], "row " + r);
                }
                float[] cv = (float[]) c.toHost();
                for (int j = 0; j < 40_000; j += 997) {
                    double acc = 0;
                    for (int r = 0; r < 64; r++) acc += xv[r * 40_000 + j];
                    assertEquals((float) acc, cv[j]);
                }
                double acc = 0;
                for (float v : xv) acc += v;
                assertEquals((float) acc, (float) all.item());
            }
        }
    }

    @Test
    void softmaxAndLogSoftmax() {
        for (DType dt : new DType[]{DType.F64, DType.F32, DType.BF16}) {
            try (Tensor x = random(dt, 8, -5, 5, 3, 129, 7)) {
                double[] xv = values(x);
                int[] shape = x.shape();
                for (int axis = 0; axis < 3; axis++) {
                    for (boolean log : new boolean[]{false, true}) {
                        try (Tensor y = log ? x.logSoftmax(axis) : x.softmax(axis)) {
                            double[] yv = values(y);
                            for (int i = 0; i < yv.length; i++) {
                                int[] c = coords(shape, i);
                                double max = Double.NEGATIVE_INFINITY, sum = 0;
                                for (int j = 0; j < shape[axis]; j++) { c[axis] = j; max = Math.max(max, xv[(int) linear(shape, c)]); }
                                for (int j = 0; j < shape[axis]; j++) { c[axis] = j; sum += Math.exp(xv[(int) linear(shape, c)] - max); }
                                double expected = log ? xv[i] - max - Math.log(sum) : Math.exp(xv[i] - max) / sum;
                                double tol = dt == DType.BF16 ? Math.abs(expected) * 1e-2 + 1e-6 : Math.abs(expected) * 1e-6 + 1e-9;
                                assertEquals(expected, yv[i], tol, dt + " axis " + axis + (log ? " log" : ""));
                            }
                        }
                    }
                }
            }
        }
        // Stability: large logits do not overflow.
        try (Tensor x = Tensor.of(CPU, new float[]{1000, 1001, 1002, -1e30f}, 1, 4); Tensor y = x.softmax(1); Tensor l = x.logSoftmax(-1)) {
            float[] yv = (float[]) y.toHost(), lv = (float[]) l.toHost();
            double z = Math.exp(-2) + Math.exp(-1) + 1;
            assertEquals(Math.exp(-2) / z, yv[0], 1e-6);
            assertEquals(1 / z, yv[2], 1e-6);
            assertEquals(0, yv[3]);
            assertEquals(-Math.log(z), lv[2], 1e-6);
            assertTrue(Float.isFinite(lv[3]));
        }
    }
}
