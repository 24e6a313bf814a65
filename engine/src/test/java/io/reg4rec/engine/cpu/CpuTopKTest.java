package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.TopK;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU top-k against a plain sort of each row (a stable sort of the indices by value
 * descending, NaN highest, -0.0 equal to +0.0): indices equal exactly, values equal bit for bit.
 * Inputs draw from a small set of values (many ties) with NaN, +-infinity, -0.0 and very negative
 * values mixed in, and from a continuous range.
 */
class CpuTopKTest {
    /** Exactly representable in BF16, so the same ties exist in every dtype. */
    private static final double[] SMALL_SET = {-3, -1.5, -0.0, 0.0, 0.25, 1, 2.5, 7, -1e30, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, Double.NaN};

    static double[] tiedValues(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = SMALL_SET[r.nextInt(SMALL_SET.length)];
        return v;
    }

    static double[] continuousValues(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = r.nextDouble() * 40 - 20;
        return v;
    }

    static Tensor tensor(DType dtype, double[] v, int... shape) {
        try (Tensor t = Tensor.fromHost(Device.CPU, DType.F64, v, shape)) {
            return t.to(dtype);
        }
    }

    /** The reference: row r's indices sorted by (value desc, NaN first, zeros equal; index asc). */
    static int[] sortedIndices(double[] row) {
        Integer[] idx = new Integer[row.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Comparator<Integer> byValueDesc = (a, b) -> Double.compare(normalise(row[b]), normalise(row[a]));
        Arrays.sort(idx, byValueDesc.thenComparingInt(i -> i));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    private static double normalise(double v) { return v == 0 ? 0.0 : v; }

    /** Raw bits of element i of a host array of any floating dtype. */
    static long bits(Object host, int i) {
        if (host instanceof double[] d) return Double.doubleToRawLongBits(d[i]);
        if (host instanceof float[] f) return Float.floatToRawIntBits(f[i]);
        return ((short[]) host)[i];
    }

    private static void checkAgainstSort(DType dtype, double[] v, int rows, int n, int k) {
        try (Scope scope = Scope.open()) {
            Tensor x = tensor(dtype, v, rows, n);
            double[] exact = (double[]) x.to(DType.F64).toHost();  // the values after rounding to dtype
            Object xHost = x.toHost();
            TopK top = x.topk(k);
            assertArrayEquals(new int[]{rows, k}, top.values().shape());
            assertArrayEquals(new int[]{rows, k}, top.indices().shape());
            assertEquals(dtype, top.values().dtype());
            assertEquals(DType.I32, top.indices().dtype());
            int[] indices = (int[]) top.indices().toHost();
            Object values = top.values().toHost();
            for (int r = 0; r < rows; r++) {
                int[] expected = sortedIndices(Arrays.copyOfRange(exact, r * n, (r + 1) * n));
                for (int p = 0; p < k; p++) {
                    String where = dtype + " [" + rows + ", " + n + "] k " + k + " row " + r + " position " + p;
                    assertEquals(expected[p], indices[r * k + p], where + " index");
                    assertEquals(bits(xHost, r * n + expected[p]), bits(values, r * k + p), where + " value bits");
                }
            }
        }
    }

    @Test
    void matchesAPlainSortWithTiesNaNAndInfinities() {
        int[][] shapes = {{1, 1, 1}, {4, 7, 1}, {3, 7, 7}, {5, 37, 37}, {6, 33, 5}, {2, 1001, 64}, {3, 2401, 1024}, {9, 300, 20}};
        for (DType dtype : new DType[]{DType.F64, DType.F32, DType.BF16}) {
            for (int[] s : shapes) {
                checkAgainstSort(dtype, tiedValues(s[0] * 31L + s[1] + s[2], s[0] * s[1]), s[0], s[1], s[2]);
                checkAgainstSort(dtype, continuousValues(s[1] * 17L + s[2], s[0] * s[1]), s[0], s[1], s[2]);
            }
        }
    }

    @Test
    void keepsNaNPayloadsAndNegativeZeroBits() {
        float negNaN = Float.intBitsToFloat(0xFFC01234);
        float[] v = {-0.0f, 0.0f, Float.NaN, -5f, negNaN, Float.POSITIVE_INFINITY, -0.0f};
        try (Tensor x = Tensor.of(Device.CPU, v, 1, 7); TopK top = x.topk(7)) {
            assertArrayEquals(new int[]{2, 4, 5, 0, 1, 6, 3}, (int[]) top.indices().toHost());
            float[] values = (float[]) top.values().toHost();
            assertEquals(0xFFC01234, Float.floatToRawIntBits(values[1]));
            assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(values[3]));
            assertEquals(Float.floatToRawIntBits(0.0f), Float.floatToRawIntBits(values[4]));
        }
    }

    @Test
    void keepsLeadingDimensionsAndTakesStridedInput() {
        double[] v = tiedValues(5, 2 * 3 * 17);
        try (Scope scope = Scope.open()) {
            Tensor x = tensor(DType.F32, v, 2, 3, 17);
            TopK top = x.topk(4);
            assertArrayEquals(new int[]{2, 3, 4}, top.values().shape());
            assertArrayEquals(new int[]{2, 3, 4}, top.indices().shape());
            Tensor flat = x.reshape(6, 17);
            assertArrayEquals((int[]) flat.topk(4).indices().toHost(), (int[]) top.indices().toHost());
            // a transposed (non-contiguous) view gives the top-k of its own rows
            Tensor t = x.transpose(1, 2);  // [2, 17, 3]
            TopK tt = t.topk(2);
            assertArrayEquals(new int[]{2, 17, 2}, tt.indices().shape());
            assertArrayEquals((int[]) t.contiguous().topk(2).indices().toHost(), (int[]) tt.indices().toHost());
            Tensor oneD = tensor(DType.F32, new double[]{1, 3, 2}, 3);
            assertArrayEquals(new int[]{1, 2}, (int[]) oneD.topk(2).indices().toHost());
        }
    }

    @Test
    void zeroRowsGiveEmptyResults() {
        try (Tensor x = Tensor.empty(Device.CPU, DType.F32, 0, 9); TopK top = x.topk(3)) {
            assertArrayEquals(new int[]{0, 3}, top.values().shape());
            assertArrayEquals(new int[]{0, 3}, top.indices().shape());
        }
        try (Tensor x = Tensor.empty(Device.CPU, DType.BF16, 4, 0, 9); TopK top = x.topk(9)) {
            assertArrayEquals(new int[]{4, 0, 9}, top.indices().shape());
        }
    }

    @Test
    void rejectsBadArgumentsWithClearMessages() {
        try (Scope scope = Scope.open()) {
            Tensor x = tensor(DType.F32, continuousValues(1, 40), 4, 10);
            assertMessage(() -> x.topk(0), "topk", "k = 0", "[4, 10] F32");
            assertMessage(() -> x.topk(11), "k = 11", "min(n, 1024)");
            Tensor wide = Tensor.zeros(Device.CPU, DType.F32, 1, 2000);
            assertMessage(() -> wide.topk(1025), "k = 1025", "1024");
            Tensor ints = Tensor.zeros(Device.CPU, DType.I32, 2, 5);
            assertMessage(() -> ints.topk(1), "topk", "I32");
            Tensor scalar = Tensor.scalar(Device.CPU, DType.F32, 1);
            assertMessage(() -> scalar.topk(1), "rank >= 1");
            Tensor empty = Tensor.empty(Device.CPU, DType.F32, 3, 0);
            assertMessage(() -> empty.topk(1), "k = 1", "n = 0");

            // the backend's own checks (callers that pass preallocated outputs)
            var cpu = x.backend();
            Tensor values = Tensor.empty(Device.CPU, DType.F32, 4, 3), indices = Tensor.empty(Device.CPU, DType.I32, 4, 3);
            assertMessage(() -> cpu.topk(x, 3, Tensor.empty(Device.CPU, DType.F32, 4, 2), indices), "topk on cpu", "values", "[4, 3] F32", "[4, 2] F32");
            assertMessage(() -> cpu.topk(x, 3, Tensor.empty(Device.CPU, DType.BF16, 4, 3), indices), "values", "[4, 3] BF16");
            assertMessage(() -> cpu.topk(x, 3, values, Tensor.empty(Device.CPU, DType.I64, 4, 3)), "indices", "I32", "[4, 3] I64");
            assertMessage(() -> cpu.topk(x.transpose(0, 1), 3, values, indices), "contiguous [rows, n]", "[10, 4] F32");
            assertMessage(() -> cpu.topk(x.reshape(2, 2, 10), 3, values, indices), "contiguous [rows, n]", "[2, 2, 10] F32");
            assertMessage(() -> cpu.topk(ints, 1, values, indices), "F32 or BF16 or F64", "[2, 5] I32");
            Tensor closed = tensor(DType.F32, continuousValues(2, 40), 4, 10);
            closed.close();
            assertThrows(IllegalStateException.class, () -> cpu.topk(closed, 3, values, indices));
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "message \"" + e.getMessage() + "\" lacks \"" + p + "\"");
    }
}
