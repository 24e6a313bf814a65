package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Shapes;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The Java side of the kernels' Strided struct (no GPU needed). */
class StridedLayoutTest {
    private static long size(long[] l, int d) { return l[1 + d]; }

    private static long stride(long[] l, int op, int d) { return l[1 + StridedLayout.MAX_DIMS + op * StridedLayout.MAX_DIMS + d]; }

    @Test
    void contiguousTensorsCollapseToRankOne() {
        int[] shape = {2, 3, 4};
        long[] l = StridedLayout.of("t", shape, Shapes.contiguousStrides(shape));
        assertEquals(StridedLayout.FIELDS, l.length);
        assertEquals(1, l[0]);
        assertEquals(24, size(l, 0));
        assertEquals(1, stride(l, 0, 0));
    }

    @Test
    void transposedDimensionsStaySeparate() {
        // A [3, 4] contiguous matrix seen transposed: shape [4, 3], strides [1, 4].
        long[] l = StridedLayout.of("t", new int[]{4, 3}, new long[]{1, 4});
        assertEquals(2, l[0]);
        assertEquals(4, size(l, 0));
        assertEquals(3, size(l, 1));
        assertEquals(1, stride(l, 0, 0));
        assertEquals(4, stride(l, 0, 1));
    }

    @Test
    void broadcastOperandsMergeOnlyWhereBothAreContiguous() {
        int[] shape = {5, 6, 7};
        long[] a = Shapes.contiguousStrides(shape);
        long[] b = {0, 7, 1};  // [6, 7] broadcast over the first dimension
        long[] l = StridedLayout.of("t", shape, a, b);
        assertEquals(2, l[0]);
        assertEquals(5, size(l, 0));
        assertEquals(42, size(l, 1));
        assertEquals(42, stride(l, 0, 0));
        assertEquals(0, stride(l, 1, 0));
        assertEquals(1, stride(l, 1, 1));
    }

    @Test
    void sizeOneDimensionsAndScalarsBecomeOneElement() {
        long[] l = StridedLayout.of("t", new int[]{}, new long[]{});
        assertEquals(1, l[0]);
        assertEquals(1, size(l, 0));
        l = StridedLayout.of("t", new int[]{1, 1, 5, 1}, new long[]{99, 99, 3, 99});
        assertEquals(1, l[0]);
        assertEquals(5, size(l, 0));
        assertEquals(3, stride(l, 0, 0));
    }

    @Test
    void exactLayoutKeepsEveryDimension() {
        long[] l = StridedLayout.exact("gather", new int[]{2, 1, 3}, new long[]{3, 3, 1}, new long[]{0, 0, 1});
        assertEquals(3, l[0]);
        assertEquals(1, size(l, 1));
    }

    @Test
    void tooManyUnmergeableDimensionsAreRejectedWithTheShape() {
        int[] shape = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        long[] strides = {1, 2, 4, 8, 16, 32, 64, 128, 256};  // fully reversed: nothing merges
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StridedLayout.of("add", shape, strides));
        assertTrue(e.getMessage().contains("add"), e.getMessage());
    }
}
