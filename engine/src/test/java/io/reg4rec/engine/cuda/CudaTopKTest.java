package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.TopK;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static org.junit.jupiter.api.Assertions.*;

/**
 * topk.cu against the CPU reference: the order is total and the values are copied, not computed,
 * so indices and value bits must match exactly (tolerance zero for F32 and BF16). Shapes cover the
 * beam-search (n 2,400, k 20-64, up to 5,120 rows) and SASRec (256 rows, n 12,000-20,000, k
 * 10-100) cases, odd sizes, k = 1, k = n, k = 1024, rows longer than the shared-memory key cache
 * (n 30,001) and zero rows. Inputs: many ties with NaN / +-inf / -0.0 mixed in, a continuous
 * range, and log-probability-like values in a narrow range (most keys share their top digits).
 */
@Tag("gpu")
class CudaTopKTest {
    private static final float[] SMALL_SET = {-3f, -1.5f, -0.0f, 0.0f, 0.25f, 1f, 2.5f, 7f, -1e30f, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN};

    private enum Values { TIED, CONTINUOUS, LOG_PROBS }

    private static float[] values(Values kind, long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = switch (kind) {
                case TIED -> SMALL_SET[r.nextInt(SMALL_SET.length)];
                case CONTINUOUS -> (float) (r.nextDouble() * 2e4 - 1e4);
                case LOG_PROBS -> (float) (-12 - r.nextDouble() * 3);  // narrow: one exponent, few top digits
            };
        }
        return v;
    }

    private static void compare(DType dtype, Values kind, int rows, int n, int k) {
        try (Scope scope = Scope.open()) {
            Tensor f = Tensor.of(Device.CPU, values(kind, rows * 7919L + n * 31L + k, rows * n), rows, n);
            Tensor x = dtype == DType.F32 ? f : f.to(dtype);
            TopK expected = x.topk(k);
            TopK actual = x.to(GPU).topk(k);
            String what = dtype + " " + kind + " [" + rows + ", " + n + "] k " + k;
            assertArrayEquals(new int[]{rows, k}, actual.values().shape(), what);
            assertEquals(dtype, actual.values().dtype(), what);
            assertEquals(DType.I32, actual.indices().dtype(), what);
            int[] ei = (int[]) expected.indices().toHost(), ai = (int[]) actual.indices().toHost();
            for (int i = 0; i < ei.length; i++) {
                if (ei[i] != ai[i]) fail(what + ": index at row " + i / k + " position " + i % k + " is " + ai[i] + ", expected " + ei[i]);
            }
            Object ev = expected.values().toHost(), av = actual.values().toHost();
            for (int i = 0; i < ei.length; i++) {
                long e = dtype == DType.F32 ? Float.floatToRawIntBits(((float[]) ev)[i]) : ((short[]) ev)[i];
                long a = dtype == DType.F32 ? Float.floatToRawIntBits(((float[]) av)[i]) : ((short[]) av)[i];
                if (e != a) fail(what + ": value bits at row " + i / k + " position " + i % k + " are " + Long.toHexString(a) + ", expected " + Long.toHexString(e));
            }
        }
    }

    @Test
    void matchesTheCpuReferenceAtOddSizes() {
        assumeGpu();
        int[][] shapes = {{1, 1, 1}, {3, 7, 7}, {7, 33, 5}, {5, 37, 1}, {4, 1001, 64}, {2, 4097, 1024}, {3, 30001, 1024}, {2, 30001, 3}, {6, 24571, 50}};
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int[] s : shapes) {
                for (Values kind : Values.values()) compare(dtype, kind, s[0], s[1], s[2]);
            }
        }
    }

    @Test
    void matchesTheCpuReferenceAtBeamSearchAndEvaluationShapes() {
        assumeGpu();
        int[][] shapes = {{256, 2400, 20}, {1000, 2400, 64}, {5120, 2400, 64}, {257, 2400, 33}, {256, 12000, 10}, {256, 20000, 100}, {255, 15001, 97}};
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int[] s : shapes) {
                compare(dtype, Values.LOG_PROBS, s[0], s[1], s[2]);
                compare(dtype, Values.TIED, s[0], s[1], s[2]);
            }
        }
    }

    @Test
    void isDeterministic() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(Device.CPU, values(Values.TIED, 3, 300 * 2400), 300, 2400).to(GPU);
            int[] first = (int[]) x.topk(64).indices().toHost();
            for (int i = 0; i < 3; i++) assertArrayEquals(first, (int[]) x.topk(64).indices().toHost());
        }
    }

    @Test
    void zeroRowsAndBadArguments() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            TopK empty = Tensor.empty(GPU, DType.BF16, 0, 2400).topk(20);
            assertArrayEquals(new int[]{0, 20}, empty.indices().shape());
            Tensor x = Tensor.zeros(GPU, DType.F32, 4, 10);
            var cuda = x.backend();
            Tensor values = Tensor.empty(GPU, DType.F32, 4, 3), indices = Tensor.empty(GPU, DType.I32, 4, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cuda.topk(x, 3, values, Tensor.empty(GPU, DType.I64, 4, 3)));
            assertTrue(e.getMessage().contains("topk on cuda") && e.getMessage().contains("I32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> cuda.topk(x, 3, values, Tensor.empty(Device.CPU, DType.I32, 4, 3)));
            assertTrue(e.getMessage().contains("cpu"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> x.topk(1025));
        }
    }
}
