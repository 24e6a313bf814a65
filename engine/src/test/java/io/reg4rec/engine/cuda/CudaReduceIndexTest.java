package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * reduce.cu, softmax.cu and index.cu against the CPU backend. Tolerances: sums 1e-5 relative
 * (both accumulate in fp64; the order differs) plus 1e-6 absolute per element; max / min and the
 * arg reductions exact; softmax 1e-5 relative (fp32 exp on the GPU, fp64 on the CPU; both sum in fp64);
 * gather exact; scatter-add exact for integers, 1e-5 for fp32 (atomic order varies).
 */
@Tag("gpu")
class CudaReduceIndexTest {
    @BeforeEach
    void gpu() { assumeGpu(); }

    static final int[][] SHAPES = {{1}, {7}, {4097}, {33, 1000}, {7, 33, 5}, {1000, 1, 3}, {2, 4097}};
    /** Few long rows or columns: reduced in two passes (segment partials, then a combine). */
    static final int[][] LONG_AXIS_SHAPES = {{100003}, {20011, 3}, {3, 20011, 5}};

    @Test
    void reductionsAlongEveryAxis() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E4M3, DType.I32, DType.I64}) {
            for (int[] shape : SHAPES) {
                for (int axis = 0; axis < shape.length; axis++) {
                    for (ReduceOp op : ReduceOp.values()) {
                        try (Scope s = Scope.open()) {
                            // Small integer range so that ties occur and the first-index rule is exercised.
                            Tensor c = t.isFloating() ? cpuRandom(t, 17 + axis, -4, 4, shape) : cpuRandom(t, 17 + axis, -6, 6, shape);
                            Tensor g = c.to(GPU);
                            Tensor e = c.reduce(op, axis, false), a = g.reduce(op, axis, false);
                            String what = op + " " + t + " " + java.util.Arrays.toString(shape) + " axis " + axis;
                            boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
                            if (op == ReduceOp.SUM && t.isFloating()) {
                                assertClose(what, e.toFloatArray(), a.toFloatArray(), t == DType.F32 ? 1e-5 : elementwiseRel(t), 1e-6 * shape[axis]);
                            } else if (t.isFloating() && !arg) {
                                assertClose(what, e.toFloatArray(), a.toFloatArray(), 0, 0);  // max / min pick an input
                            } else {
                                assertExact(what, e.toLongArray(), a.toLongArray());
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void longAxesWithFewOutputsAreSplitDeterministically() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.I32, DType.I64}) {
            for (int[] shape : LONG_AXIS_SHAPES) {
                int axis = shape.length == 1 ? 0 : (shape.length == 2 ? 0 : 1);
                for (ReduceOp op : ReduceOp.values()) {
                    try (Scope s = Scope.open()) {
                        Tensor c = t.isFloating() ? cpuRandom(t, 23, -4, 4, shape) : cpuRandom(t, 23, -1000, 1000, shape);
                        Tensor g = c.to(GPU);
                        Tensor e = c.reduce(op, axis, false), a = g.reduce(op, axis, false), again = g.reduce(op, axis, false);
                        String what = op + " " + t + " " + java.util.Arrays.toString(shape) + " axis " + axis;
                        boolean arg = op == ReduceOp.ARGMAX || op == ReduceOp.ARGMIN;
                        if (op == ReduceOp.SUM && t.isFloating()) {
                            assertClose(what, e.toFloatArray(), a.toFloatArray(), t == DType.F32 ? 1e-5 : elementwiseRel(t), 1e-6 * shape[axis]);
                        } else if (t.isFloating() && !arg) {
                            assertClose(what, e.toFloatArray(), a.toFloatArray(), 0, 0);
                        } else {
                            assertExact(what, e.toLongArray(), a.toLongArray());
                        }
                        assertExact(what + " (run to run)", CudaCastTest.bits(a), CudaCastTest.bits(again));
                    }
                }
            }
        }
    }

    @Test
    void sumOverAnEmptyAxisIsZeroAndMeanMatches() {
        try (Scope s = Scope.open()) {
            Tensor g = Tensor.zeros(GPU, DType.F32, 3, 0, 4);
            assertArrayEquals(new float[12], g.sum(1, false).toFloatArray());
            Tensor c = cpuRandom(DType.F32, 3, -1, 1, 33, 1000);
            assertClose("mean", c.mean(1, true).toFloatArray(), c.to(GPU).mean(1, true).toFloatArray(), 1e-5, 1e-7);
            assertClose("sumAll of a transpose", c.transpose(0, 1).sumAll().toFloatArray(), c.to(GPU).transpose(0, 1).sumAll().toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void softmaxAndLogSoftmaxAlongEveryAxis() {
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            for (int[] shape : SHAPES) {
                for (int axis = 0; axis < shape.length; axis++) {
                    for (boolean log : new boolean[]{false, true}) {
                        try (Scope s = Scope.open()) {
                            Tensor c = cpuRandom(t, 5 + axis, -8, 8, shape);
                            Tensor g = c.to(GPU);
                            Tensor e = log ? c.logSoftmax(axis) : c.softmax(axis), a = log ? g.logSoftmax(axis) : g.softmax(axis);
                            assertClose((log ? "logSoftmax " : "softmax ") + t + " " + java.util.Arrays.toString(shape) + " axis " + axis,
                                    e.toFloatArray(), a.toFloatArray(), t == DType.F32 ? 1e-5 : elementwiseRel(t), log ? 1e-6 : 1e-7);
                        }
                    }
                }
            }
        }
        try (Scope s = Scope.open()) {
            Tensor c = cpuRandom(DType.F32, 9, -3, 3, 47, 33);
            assertClose("softmax of a transposed view", c.transpose(0, 1).softmax(1).toFloatArray(),
                    c.to(GPU).transpose(0, 1).softmax(1).toFloatArray(), 1e-5, 1e-7);
        }
    }

    @Test
    void gatherAndIndexSelectForEveryDtypeAndIndexType() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F8E5M2, DType.I32, DType.I64}) {
            for (DType it : new DType[]{DType.I32, DType.I64}) {
                try (Scope s = Scope.open()) {
                    Tensor x = cpuRandom(t, 3, -50, 50, 33, 47);
                    Tensor idx = cpuRandom(it, 4, 0, 33, 5, 47);
                    Tensor xg = x.to(GPU), ig = idx.to(GPU);
                    assertExact("gather axis 0 " + t + " " + it, CudaCastTest.bits(x.gather(0, idx)), CudaCastTest.bits(xg.gather(0, ig)));
                    Tensor idx1 = cpuRandom(it, 5, 0, 47, 33, 1000);
                    assertExact("gather axis 1 " + t + " " + it, CudaCastTest.bits(x.gather(1, idx1)), CudaCastTest.bits(xg.gather(1, idx1.to(GPU))));
                    Tensor rows = cpuRandom(it, 6, 0, 33, 4097);
                    assertExact("indexSelect " + t + " " + it, CudaCastTest.bits(x.indexSelect(rows)), CudaCastTest.bits(xg.indexSelect(rows.to(GPU))));
                    Tensor idxT = cpuRandom(it, 7, 0, 47, 3, 33);  // gathers rows of the [47, 33] transpose
                    assertExact("gather from a transposed view", CudaCastTest.bits(x.transpose(0, 1).gather(0, idxT)),
                            CudaCastTest.bits(xg.transpose(0, 1).gather(0, idxT.to(GPU))));
                }
            }
        }
    }

    @Test
    void scatterAddAccumulatesCollisions() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.I32, DType.I64}) {
            for (DType it : new DType[]{DType.I32, DType.I64}) {
                try (Scope s = Scope.open()) {
                    // Small integers: every partial sum is exact in each dtype, so the atomic order
                    // cannot change the result and the comparison is exact.
                    Tensor dst = cpuRandom(DType.I32, 1, -10, 10, 7, 33).to(t);
                    Tensor src = cpuRandom(DType.I32, 2, -1, 2, 1000, 33).to(t);
                    Tensor idx = cpuRandom(it, 3, 0, 7, 1000, 33);
                    Tensor e = dst.scatterAdd(0, idx, src);
                    Tensor a = dst.to(GPU).scatterAdd(0, idx.to(GPU), src.to(GPU));
                    assertClose("scatterAdd " + t + " " + it, e.toFloatArray(), a.toFloatArray(), 0, 0);
                    Tensor src1 = cpuRandom(DType.I32, 4, -1, 2, 7, 4097).to(t);
                    Tensor idx1 = cpuRandom(it, 5, 0, 33, 7, 4097);
                    Tensor e1 = dst.scatterAdd(1, idx1, src1), a1 = dst.to(GPU).scatterAdd(1, idx1.to(GPU), src1.to(GPU));
                    assertClose("scatterAdd axis 1 " + t + " " + it, e1.toFloatArray(), a1.toFloatArray(), 0, 0);
                }
            }
        }
        try (Scope s = Scope.open()) {
            // fp32 with fractional values: the sums agree to rounding.
            Tensor dst = cpuRandom(DType.F32, 6, -1, 1, 7, 33), src = cpuRandom(DType.F32, 7, -1, 1, 1000, 33);
            Tensor idx = cpuRandom(DType.I64, 8, 0, 7, 1000, 33);
            assertClose("scatterAdd fp32 fractions", dst.scatterAdd(0, idx, src).toFloatArray(),
                    dst.to(GPU).scatterAdd(0, idx.to(GPU), src.to(GPU)).toFloatArray(), 1e-5, 1e-5);
        }
    }

    @Test
    void scatterAddIntoNarrowFloatsWithoutCollisionsIsExact() {
        long[] perm = new long[7 * 33];
        for (int i = 0; i < 7; i++) for (int j = 0; j < 33; j++) perm[i * 33 + j] = (i + j) % 7;
        for (DType t : new DType[]{DType.BF16, DType.F8E4M3, DType.F8E5M2}) {
            try (Scope s = Scope.open()) {
                Tensor dst = cpuRandom(t, 1, -3, 3, 7, 33), src = cpuRandom(t, 2, -3, 3, 7, 33);
                Tensor idx = Tensor.of(Device.CPU, perm, 7, 33);
                assertExact("scatterAdd " + t, CudaCastTest.bits(dst.scatterAdd(0, idx, src)),
                        CudaCastTest.bits(dst.to(GPU).scatterAdd(0, idx.to(GPU), src.to(GPU))));
            }
        }
    }

    @Test
    void outOfRangeIndicesAndIntegerDivisionByZeroAreReportedAtTheNextSync() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(GPU, DType.F32, 5, 3);
            Tensor idx = Tensor.of(GPU, new long[]{0, 7, 1}, 1, 3);
            Tensor out = x.gather(0, idx);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, out::toFloatArray);
            assertTrue(e.getMessage().contains("7") && e.getMessage().contains("[0, 5)"), e.getMessage());
            // The report is cleared: the next transfer works.
            assertEquals(15, x.toFloatArray().length);
            Tensor a = Tensor.of(GPU, new int[]{1, 2, 3}, 3), b = Tensor.of(GPU, new int[]{1, 0, 3}, 3);
            Tensor q = a.div(b);
            assertThrows(ArithmeticException.class, q::toLongArray);
            assertArrayEquals(new long[]{1, 1, 1}, a.div(a).toLongArray());
        }
    }
}
