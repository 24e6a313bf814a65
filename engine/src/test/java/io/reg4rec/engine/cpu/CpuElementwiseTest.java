package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class CpuElementwiseTest {
    static final DType[] FLOATS = {DType.F64, DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2};

    static DoubleUnaryOperator reference(UnaryOp op) {
        double c = Math.sqrt(2 / Math.PI);
        return switch (op) {
            case NEG -> x -> -x;
            case ABS -> Math::abs;
            case EXP -> Math::exp;
            case LOG -> Math::log;
            case SQRT -> Math::sqrt;
            case RSQRT -> x -> 1 / Math.sqrt(x);
            case RECIPROCAL -> x -> 1 / x;
            case TANH -> Math::tanh;
            case SIGMOID -> x -> 1 / (1 + Math.exp(-x));
            case RELU -> x -> Math.max(x, 0);
            case STEP -> x -> x > 0 ? 1 : 0;
            case GELU -> x -> 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
            case GELU_GRAD -> x -> {
                double t = Math.tanh(c * (x + 0.044715 * x * x * x));
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
            };
        };
    }

    @Test
    void unaryOpsOnEveryFloatDtypeAndLayout() {
        for (DType dt : FLOATS) {
            for (UnaryOp op : UnaryOp.values()) {
                boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
                try (Tensor base = random(dt, op.ordinal(), positive ? 0.1 : -3, 3, 33, 7);
                     Tensor x = base.transpose(0, 1); // a strided view
                     Tensor y = x.unary(op)) {
                    assertArrayEquals(new int[]{7, 33}, y.shape());
                    assertTrue(y.isContiguous());
                    double[] in = values(x), out = values(y);
                    DoubleUnaryOperator f = reference(op);
                    for (int i = 0; i < in.length; i++) assertSame(rounded(dt, f.applyAsDouble(in[i])), out[i], op + " " + dt + " at " + i);
                }
            }
        }
    }

    @Test
    void unaryFunctionsAgreeWithDefinitionsWithinTolerance() {
        // Independent of the rounding scheme: F32 GELU and its gradient against finite differences.
        try (Tensor x = random(DType.F64, 9, -4, 4, 129); Tensor g = x.unary(UnaryOp.GELU_GRAD);
             Tensor xp = x.add(1e-6); Tensor xm = x.sub(1e-6); Tensor gp = xp.gelu(); Tensor gm = xm.gelu()) {
            double[] grad = values(g), p = values(gp), m = values(gm);
            for (int i = 0; i < grad.length; i++) assertEquals((p[i] - m[i]) / 2e-6, grad[i], 1e-6);
        }
        try (Tensor x = Tensor.of(CPU, new float[]{Float.NaN, -0f, 0f, -1f}, 4); Tensor r = x.relu(); Tensor s = x.unary(UnaryOp.STEP)) {
            double[] rv = values(r), sv = values(s);
            assertTrue(Double.isNaN(rv[0]), "relu keeps NaN");
            assertEquals(0.0, rv[3]);
            assertArrayEquals(new double[]{0, 0, 0, 0}, sv);
        }
    }

    @Test
    void integerUnaryOps() {
        for (DType dt : new DType[]{DType.I32, DType.I64}) {
            try (Tensor x = random(dt, 4, -100, 100, 5, 9); Tensor n = x.neg(); Tensor a = x.abs()) {
                double[] in = values(x), nv = values(n), av = values(a);
                for (int i = 0; i < in.length; i++) {
                    assertEquals(-in[i], nv[i]);
                    assertEquals(Math.abs(in[i]), av[i]);
                }
            }
            try (Tensor x = random(dt, 4, -100, 100, 3)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, x::exp);
                assertTrue(e.getMessage().contains("EXP"), e.getMessage());
            }
        }
    }

    static DoubleBinaryOperator reference(BinaryOp op) {
        return switch (op) {
            case ADD -> Double::sum;
            case SUB -> (a, b) -> a - b;
            case MUL -> (a, b) -> a * b;
            case DIV -> (a, b) -> a / b;
            case MAX -> Math::max;
            case MIN -> Math::min;
            case POW -> Math::pow;
            case EQ -> (a, b) -> a == b ? 1 : 0;
            case NE -> (a, b) -> a != b ? 1 : 0;
            case LT -> (a, b) -> a < b ? 1 : 0;
            case LE -> (a, b) -> a <= b ? 1 : 0;
            case GT -> (a, b) -> a > b ? 1 : 0;
            case GE -> (a, b) -> a >= b ? 1 : 0;
        };
    }

    @Test
    void binaryOpsWithBroadcastingOnEveryDtype() {
        DType[] all = {DType.F64, DType.F32, DType.BF16, DType.F8E4M3, DType.I32, DType.I64};
        for (DType dt : all) {
            for (BinaryOp op : BinaryOp.values()) {
                if (op == BinaryOp.POW && !dt.isFloating()) continue;
                boolean positive = op == BinaryOp.POW;
                try (Tensor a = random(dt, 11 + op.ordinal(), positive ? 0.5 : -8, 8, 5, 1, 7);
                     Tensor braw = random(dt, 99 + op.ordinal(), positive ? 0.5 : 1, 8, 4, 7);
                     Tensor b = op == BinaryOp.DIV && !dt.isFloating() ? braw.abs() : braw.reshape(4, 7);
                     Tensor c = a.binary(op, b)) {
                    assertArrayEquals(new int[]{5, 4, 7}, c.shape());
                    double[] av = values(a), bv = values(b), cv = values(c);
                    DoubleBinaryOperator f = reference(op);
                    for (int i = 0; i < cv.length; i++) {
                        int[] co = coords(c.shape(), i);
                        double x = av[co[0] * 7 + co[2]], y = bv[co[1] * 7 + co[2]];
                        double expected;
                        if (dt.isFloating()) expected = rounded(dt, f.applyAsDouble(x, y));
                        else if (op == BinaryOp.DIV) expected = rounded(dt, (double) ((long) x / (long) y));
                        else expected = rounded(dt, f.applyAsDouble(x, y));
                        assertSame(expected, cv[i], op + " " + dt + " at " + i);
                    }
                }
            }
        }
    }

    @Test
    void integerDivisionTruncatesAndScalarOps() {
        try (Tensor a = Tensor.of(CPU, new int[]{-7, 7, -8, 9}, 4); Tensor b = Tensor.of(CPU, new int[]{2, -2, 3, 4}, 4); Tensor q = a.div(b)) {
            assertArrayEquals(new int[]{-3, -3, -2, 2}, (int[]) q.toHost());
        }
        try (Tensor a = Tensor.of(CPU, new long[]{-7, 7, 5}, 3); Tensor q = a.div(2); Tensor r = a.binaryReversed(BinaryOp.SUB, 10); Tensor h = a.mul(0.5)) {
            assertArrayEquals(new long[]{-3, 3, 2}, (long[]) q.toHost());
            assertArrayEquals(new long[]{17, 3, 5}, (long[]) r.toHost());
            assertArrayEquals(new long[]{-3, 3, 2}, (long[]) h.toHost(), "fractional scalar: double math, truncated");
        }
        try (Tensor base = random(DType.F32, 5, -2, 2, 6, 5); Tensor x = base.transpose(0, 1);
             Tensor d = x.binaryReversed(BinaryOp.DIV, 3.0); Tensor p = x.abs(); Tensor pw = p.pow(0.1)) {
            double[] xv = values(x), dv = values(d), pv = values(p), pwv = values(pw);
            for (int i = 0; i < xv.length; i++) {
                assertSame((float) (3.0 / xv[i]), dv[i], "3 / x");
                assertSame((float) Math.pow(pv[i], (float) 0.1), pwv[i], "x ^ 0.1");
            }
        }
        try (Tensor a = Tensor.of(CPU, new int[]{1}, 1); Tensor z = Tensor.of(CPU, new int[]{0}, 1)) {
            assertThrows(ArithmeticException.class, () -> a.div(z));
        }
    }

    @Test
    void dtypeAndShapeMismatchesNameOpAndShapes() {
        try (Tensor a = random(DType.F32, 1, 0, 1, 2, 3); Tensor b = random(DType.F64, 1, 0, 1, 2, 3); Tensor c = random(DType.F32, 1, 0, 1, 4, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
            assertTrue(e.getMessage().contains("add") && e.getMessage().contains("F64") && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> a.mul(c));
            assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        }
    }

    @Test
    void castsBetweenAllDtypes() {
        double[] specials = {0, -0.0, 1, -1, 0.5, -1.5, 2.5, 3.7, -3.7, 100.25, 300, 449, 1e5, -1e5, 3e9, -3e9, 1e-3, 1e-8,
                Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1.0 + 0x1p-8, 65504, 123456789};
        int n = specials.length;
        double[] src64 = specials.clone();
        for (DType from : DType.values()) {
            // Build the source tensor from the specials as the source dtype represents them.
            Tensor f64 = Tensor.fromHost(CPU, DType.F64, src64, n);
            Tensor src = f64.to(from);
            f64.close();
            double[] sv = values(src);
            for (DType to : DType.values()) {
                try (Tensor dst = src.to(to)) {
                    double[] dv = values(dst);
                    for (int i = 0; i < n; i++) {
                        double expected = castReference(from, to, sv[i]);
                        assertSame(expected, dv[i], from + " -> " + to + " of " + sv[i]);
                    }
                }
            }
            // the same on a strided view
            try (Tensor two = src.reshape(2, n / 2); Tensor t = two.transpose(0, 1); Tensor c = t.to(DType.F64)) {
                double[] cv = values(c);
                for (int i = 0; i < n; i++) assertSame(sv[(i % 2) * (n / 2) + i / 2], cv[i], "strided cast");
            }
            src.close();
        }
    }

    static double castReference(DType from, DType to, double v) {
        if (!to.isFloating()) {
            if (to == DType.I32) return from.isFloating() ? (int) v : (int) (long) v;
            return (long) v;
        }
        return switch (to) {
            case F64 -> v;
            case F32 -> (float) v;
            case BF16 -> Bf16.toFloat(Bf16.fromDouble(v));
            case F8E4M3 -> Fp8.e4m3ToFloat(Fp8.e4m3FromDouble(v));
            case F8E5M2 -> Fp8.e5m2ToFloat(Fp8.e5m2FromDouble(v));
            default -> throw new AssertionError();
        };
    }

    @Test
    void castPreservesBitsForSameDtypeAndLargeLongs() {
        long big = (1L << 60) + 3;
        try (Tensor a = Tensor.of(CPU, new long[]{big, -big}, 2); Tensor b = a.to(DType.I64); Tensor c = a.to(DType.I32)) {
            assertArrayEquals(new long[]{big, -big}, (long[]) b.toHost());
            assertArrayEquals(new int[]{(int) big, (int) -big}, (int[]) c.toHost(), "int narrowing wraps");
        }
        try (Tensor a = Tensor.of(CPU, new float[]{1e10f, -1e10f, Float.NaN, 2.9f, -2.9f}, 5); Tensor i = a.to(DType.I32)) {
            assertArrayEquals(new int[]{Integer.MAX_VALUE, Integer.MIN_VALUE, 0, 2, -2}, (int[]) i.toHost());
        }
    }

    @Test
    void fillAndRandom() {
        try (Tensor f = Tensor.full(CPU, DType.BF16, 1.0 + 0x1p-8 + 0x1p-30, 3)) {
            assertArrayEquals(new short[]{0x3F81, 0x3F81, 0x3F81}, (short[]) f.toHost(), "fill rounds once from double");
        }
        try (Tensor f = Tensor.full(CPU, DType.F8E4M3, 1000, 2)) {
            assertArrayEquals(new double[]{448, 448}, values(f));
        }
        for (DType dt : FLOATS) {
            try (Tensor u = Tensor.random(CPU, dt, Distribution.UNIFORM, 42, -2, 3, 7, 11);
                 Tensor z = Tensor.random(CPU, dt, Distribution.NORMAL, 42, 1, 0.5, 77);
                 Tensor u2 = Tensor.random(CPU, dt, Distribution.UNIFORM, 42, -2, 3, 7, 11)) {
                double[] uv = values(u), zv = values(z);
                for (int i = 0; i < uv.length; i++) {
                    double expected = -2 + 5.0 * CounterRng.uniform(42, i);
                    assertSame(dt == DType.F64 ? expected : rounded(dt, expected), uv[i], "uniform " + dt);
                }
                for (int i = 0; i < zv.length; i++) {
                    double expected = 1 + 0.5 * CounterRng.normal(42, i);
                    assertSame(dt == DType.F64 ? expected : rounded(dt, expected), zv[i], "normal " + dt);
                }
                assertArrayEquals(values(u), values(u2), "same seed, same bits");
            }
        }
        try (Tensor big = Tensor.rand(CPU, DType.F32, 7, 1 << 18); Tensor again = Tensor.rand(CPU, DType.F32, 7, 1 << 18)) {
            assertArrayEquals((float[]) big.toHost(), (float[]) again.toHost());
            double mean = 0;
            for (float v : (float[]) big.toHost()) mean += v;
            assertEquals(0.5, mean / (1 << 18), 0.01);
        }
    }

    @Test
    void expandedAndSlicedViews() {
        try (Tensor row = random(DType.F32, 21, -2, 2, 1, 5); Tensor e = row.expand(4, 5); Tensor y = e.exp(); Tensor c = e.to(DType.F64);
             Tensor big = random(DType.BF16, 22, -2, 2, 9, 12); Tensor s = big.slice(0, 2, 7).slice(1, 3, 11); Tensor t = s.tanh()) {
            double[] rv = values(row), yv = values(y), cv = values(c);
            for (int i = 0; i < 20; i++) {
                assertSame(rounded(DType.F32, Math.exp(rv[i % 5])), yv[i], "exp of expanded view");
                assertSame(rv[i % 5], cv[i], "cast of expanded view");
            }
            double[] bv = values(big), tv = values(t);
            for (int i = 0; i < 5; i++) for (int j = 0; j < 8; j++) {
                assertSame(rounded(DType.BF16, Math.tanh(bv[(i + 2) * 12 + j + 3])), tv[i * 8 + j], "tanh of sliced view");
            }
        }
    }

    @Test
    void emptyTensors() {
        try (Tensor a = Tensor.zeros(CPU, DType.F32, 0, 5); Tensor b = a.exp(); Tensor c = a.add(a); Tensor d = a.to(DType.BF16)) {
            assertEquals(0, b.numel());
            assertEquals(0, c.numel());
            assertEquals(0, ((short[]) d.toHost()).length);
        }
    }
}
