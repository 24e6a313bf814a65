package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * CUDA elementwise kernels (elementwise.cu) and fills against the CPU backend.
 * Tolerances: fp32 1e-6 relative (plus 1e-6 absolute for results near 0, e.g. GELU of large
 * negative x); bf16 one ulp (2^-7 relative), fp8 one ulp (E4M3 2^-3, E5M2 2^-2); integers exact.
 */
@Tag("gpu")
class CudaElementwiseTest {
    static final DType[] FLOATS = {DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2};

    @BeforeEach
    void gpu() { assumeGpu(); }

    /** Runs f on the CPU tensor and on its CUDA copy; compares as floats (or longs for ints). */
    static void compare(String what, Tensor cpuInput, Function<Tensor, Tensor> f, double rel, double abs) {
        try (Scope s = Scope.open()) {
            Tensor gpuInput = cpuInput.to(GPU);
            Tensor expected = f.apply(cpuInput), actual = f.apply(gpuInput);
            assertEquals(GPU, actual.device());
            assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
            assertEquals(expected.dtype(), actual.dtype(), what + ": dtype");
            if (expected.dtype().isFloating()) assertClose(what, expected.toFloatArray(), actual.toFloatArray(), rel, abs);
            else assertExact(what, expected.toLongArray(), actual.toLongArray());
        }
    }

    static double domainLo(UnaryOp op) {
        return switch (op) {
            case LOG, SQRT, RSQRT -> 0.05;
            default -> -4;
        };
    }

    @Test
    void unaryOpsMatchTheCpuOnOddSizesForEveryFloatDtype() {
        for (DType t : FLOATS) {
            for (UnaryOp op : UnaryOp.values()) {
                for (int n : ODD_SIZES) {
                    try (Tensor x = cpuRandom(t, n * 31L + op.ordinal(), domainLo(op), 4, n)) {
                        compare(op + " " + t + " [" + n + "]", x, v -> v.unary(op), elementwiseRel(t), t == DType.F32 ? 1e-6 : 1e-3);
                    }
                }
            }
        }
    }

    @Test
    void integerNegAndAbsAreExactIncludingTheMinimumValue() {
        for (DType t : new DType[]{DType.I32, DType.I64}) {
            try (Scope s = Scope.open()) {
                Tensor x = cpuRandom(t, 5, -1e6, 1e6, 1000);
                compare("NEG " + t, x, Tensor::neg, 0, 0);
                compare("ABS " + t, x, Tensor::abs, 0, 0);
                Tensor min = t == DType.I32 ? Tensor.of(Device.CPU, new int[]{Integer.MIN_VALUE, -1, 0, 7}, 4)
                        : Tensor.of(Device.CPU, new long[]{Long.MIN_VALUE, -1, 0, 7}, 4);
                compare("ABS(MIN) " + t, min, Tensor::abs, 0, 0);
                compare("NEG(MIN) " + t, min, Tensor::neg, 0, 0);
            }
        }
    }

    @Test
    void unaryOpsOnStridedViews() {
        try (Scope s = Scope.open()) {
            Tensor x = cpuRandom(DType.F32, 11, -3, 3, 33, 47);
            compare("tanh of transpose", x, v -> v.transpose(0, 1).tanh(), 1e-6, 1e-6);
            compare("exp of slice", x, v -> v.slice(1, 5, 40).exp(), 1e-6, 1e-6);
            compare("gelu of expanded row", x, v -> v.slice(0, 3, 4).expand(9, 47).gelu(), 1e-6, 1e-6);
            compare("sigmoid of permuted 3-D", cpuRandom(DType.BF16, 12, -3, 3, 5, 7, 9), v -> v.permute(2, 0, 1).sigmoid(), elementwiseRel(DType.BF16), 1e-3);
        }
    }

    @Test
    void binaryOpsBroadcastForEveryDtype() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64}) {
            for (BinaryOp op : BinaryOp.values()) {
                if (op == BinaryOp.POW && !t.isFloating()) continue;
                try (Scope s = Scope.open()) {
                    Tensor a, b;
                    if (op == BinaryOp.POW) {
                        a = cpuRandom(t, 1, 0.1, 3, 33, 1);
                        b = cpuRandom(t, 2, -2, 2, 1, 7);
                    } else if (op == BinaryOp.DIV) {
                        a = t.isFloating() ? cpuRandom(t, 1, -3, 3, 33, 1) : cpuRandom(t, 1, -1000, 1000, 33, 1);
                        b = t.isFloating() ? cpuNonZero(t, 2, 0.25, 3, 1, 7) : cpuNonZero(t, 2, 1, 50, 1, 7);
                    } else if (t.isFloating()) {
                        a = cpuRandom(t, 1, -3, 3, 33, 1);
                        b = cpuRandom(t, 2, -3, 3, 1, 7);
                    } else {
                        a = cpuRandom(t, 1, -5, 5, 33, 1);  // small range: comparisons see equal values
                        b = cpuRandom(t, 2, -5, 5, 1, 7);
                    }
                    Tensor bGpu = b.to(GPU);
                    Tensor expected = a.binary(op, b);
                    Tensor actual = a.to(GPU).binary(op, bGpu);
                    String what = op + " " + t + " [33,1] x [1,7]";
                    assertArrayEquals(new int[]{33, 7}, actual.shape());
                    if (t.isFloating()) assertClose(what, expected.toFloatArray(), actual.toFloatArray(), elementwiseRel(t), t == DType.F32 ? 1e-6 : 1e-3);
                    else assertExact(what, expected.toLongArray(), actual.toLongArray());
                }
            }
        }
    }

    @Test
    void binaryOpsOnOddSizesAndViews() {
        for (int n : ODD_SIZES) {
            try (Scope s = Scope.open()) {
                Tensor a = cpuRandom(DType.F32, n, -2, 2, n), b = cpuRandom(DType.F32, n + 1, -2, 2, n);
                Tensor expected = a.mul(b).add(a);
                Tensor ag = a.to(GPU), bg = b.to(GPU);
                assertClose("mul-add [" + n + "]", expected.toFloatArray(), ag.mul(bg).add(ag).toFloatArray(), 1e-6, 1e-7);
            }
        }
        try (Scope s = Scope.open()) {
            Tensor a = cpuRandom(DType.F32, 3, -2, 2, 17, 19), b = cpuRandom(DType.F32, 4, -2, 2, 19, 17);
            Tensor expected = a.sub(b.transpose(0, 1));
            Tensor actual = a.to(GPU).sub(b.to(GPU).transpose(0, 1));
            assertClose("a - b^T", expected.toFloatArray(), actual.toFloatArray(), 1e-6, 0);
            Tensor c = cpuRandom(DType.F32, 5, -2, 2, 4, 1, 6);
            Tensor d = cpuRandom(DType.F32, 6, -2, 2, 5, 1);
            assertClose("3-D broadcast", c.maximum(d).toFloatArray(), c.to(GPU).maximum(d.to(GPU)).toFloatArray(), 0, 0);
        }
    }

    @Test
    void scalarOpsInBothOrders() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E4M3, DType.I32, DType.I64}) {
            for (BinaryOp op : BinaryOp.values()) {
                if (op == BinaryOp.POW && !t.isFloating()) continue;
                for (boolean first : new boolean[]{false, true}) {
                    double scalar = op == BinaryOp.POW ? 1.5 : 3;
                    try (Tensor x = op == BinaryOp.POW || (op == BinaryOp.DIV && first)
                            ? (t.isFloating() ? cpuRandom(t, 9, 0.25, 4, 1000) : cpuRandom(t, 9, 1, 100, 1000))
                            : (t.isFloating() ? cpuRandom(t, 9, -4, 4, 1000) : cpuRandom(t, 9, -100, 100, 1000))) {
                        compare(op + " scalar " + (first ? "first " : "second ") + t, x,
                                v -> first ? v.binaryReversed(op, scalar) : v.binary(op, scalar),
                                elementwiseRel(t), t == DType.F32 ? 1e-6 : 1e-3);
                    }
                }
            }
        }
    }

    @Test
    void emptyTensorsNeedNoLaunch() {
        try (Scope s = Scope.open()) {
            Tensor e = Tensor.zeros(GPU, DType.F32, 0, 5);
            assertEquals(0, e.exp().numel());
            assertEquals(0, e.add(e).numel());
            assertEquals(0, e.mul(2).numel());
            assertEquals(0, e.to(DType.BF16).toFloatArray().length);
            Tensor sum = e.sum(0, false);
            assertArrayEquals(new float[5], sum.toFloatArray());
        }
    }

    @Test
    void fillMatchesForEveryDtype() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I32, DType.I64}) {
            for (double v : new double[]{0, 1, -2.5, 1e9, 3.1415926}) {
                try (Scope s = Scope.open()) {
                    Tensor c = Tensor.full(Device.CPU, t, v, 7, 33), g = Tensor.full(GPU, t, v, 7, 33);
                    if (t.isFloating()) assertClose("fill " + v + " " + t, c.toFloatArray(), g.toFloatArray(), 0, 0);
                    else assertExact("fill " + v + " " + t, c.toLongArray(), g.toLongArray());
                }
            }
        }
    }

    @Test
    void randomFillsFollowCounterRng() {
        int n = 4097;
        long seed = 0x5EEDL;
        try (Scope s = Scope.open()) {
            float[] u = Tensor.rand(GPU, DType.F32, seed, n).toFloatArray();
            for (int i = 0; i < n; i++) assertEquals(CounterRng.uniform(seed, i), u[i], 0f, "uniform element " + i);
            float[] z = Tensor.randn(GPU, DType.F32, seed, n).toFloatArray();
            for (int i = 0; i < n; i++) {
                float e = CounterRng.normal(seed, i);
                // fp64 log / cos on the device may differ from Java's by an ulp before rounding to fp32.
                assertTrue(Math.abs(e - z[i]) <= Math.ulp(e), "normal element " + i + ": " + z[i] + " vs " + e);
            }
            for (DType t : FLOATS) {
                for (Distribution d : Distribution.values()) {
                    Tensor c = Tensor.random(Device.CPU, t, d, seed, -1.5, 2.5, 7, 33);
                    Tensor g = Tensor.random(GPU, t, d, seed, -1.5, 2.5, 7, 33);
                    assertClose(d + " " + t, c.toFloatArray(), g.toFloatArray(), elementwiseRel(t), 1e-6);
                }
            }
        }
    }

    @Test
    void f64IsRejectedBeforeAnyLaunch() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> Tensor.zeros(GPU, DType.F64, 3));
        assertTrue(e.getMessage().contains("F64"), e.getMessage());
    }
}
