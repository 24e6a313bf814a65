package io.reg4rec.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Frontend behaviour of {@link Tensor} on the CPU backend: views, reshape, broadcasting. */
class TensorFrontendTest {
    static final Device CPU = Device.CPU;

    static Tensor iota(int... shape) {
        int n = (int) Shapes.numel(shape);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i;
        return Tensor.of(CPU, v, shape);
    }

    @Test
    void viewsShareStorageAndReadCorrectly() {
        try (Tensor x = iota(2, 3, 4)) {
            try (Tensor t = x.transpose(0, 2)) {
                assertArrayEquals(new int[]{4, 3, 2}, t.shape());
                assertFalse(t.isContiguous());
                assertSame(x.storage(), t.storage());
                float[] v = (float[]) t.toHost();
                for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 2; k++)
                    assertEquals(k * 12 + j * 4 + i, v[i * 6 + j * 2 + k]);
            }
            try (Tensor p = x.permute(1, 2, 0); Tensor s = x.slice(2, 1, 3); Tensor sel = x.select(1, 2); Tensor u = sel.unsqueeze(0); Tensor q = u.squeeze(0)) {
                assertArrayEquals(new int[]{3, 4, 2}, p.shape());
                assertEquals(17f, ((float[]) p.toHost())[1 * 8 + 1 * 2 + 1], "p[1][1][1] = x[1][1][1]");
                assertArrayEquals(new float[]{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}, (float[]) s.toHost());
                assertArrayEquals(new float[]{8, 9, 10, 11, 20, 21, 22, 23}, (float[]) sel.toHost());
                assertArrayEquals(new int[]{1, 2, 4}, u.shape());
                assertArrayEquals((float[]) sel.toHost(), (float[]) q.toHost());
            }
        }
    }

    @Test
    void reshapeViewsContiguousAndCopiesStrided() {
        try (Tensor x = iota(2, 6); Tensor r = x.reshape(3, -1); Tensor t = x.transpose(0, 1); Tensor rt = t.reshape(4, 3); Tensor f = t.flatten()) {
            assertArrayEquals(new int[]{3, 4}, r.shape());
            assertSame(x.storage(), r.storage());
            assertNotSame(x.storage(), rt.storage());
            assertArrayEquals(new float[]{0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11}, (float[]) rt.toHost());
            assertArrayEquals((float[]) rt.toHost(), (float[]) f.toHost());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> x.reshape(5, -1));
            assertTrue(e.getMessage().contains("reshape"), e.getMessage());
        }
    }

    @Test
    void broadcastingAndExpand() {
        try (Tensor col = iota(3, 1); Tensor row = iota(4); Tensor sum = col.add(row); Tensor e = row.expand(2, 4)) {
            assertArrayEquals(new int[]{3, 4}, sum.shape());
            float[] s = (float[]) sum.toHost();
            for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) assertEquals(i + j, s[i * 4 + j]);
            assertArrayEquals(new long[]{0, 1}, e.strides());
            assertArrayEquals(new float[]{0, 1, 2, 3, 0, 1, 2, 3}, (float[]) e.toHost());
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> col.add(iota(2, 2)));
            assertTrue(ex.getMessage().contains("add") && ex.getMessage().contains("[3, 1]") && ex.getMessage().contains("[2, 2]"), ex.getMessage());
        }
        try (Tensor s = Tensor.scalar(CPU, DType.F32, 2); Tensor m = iota(2, 2); Tensor p = m.mul(s)) {
            assertArrayEquals(new float[]{0, 2, 4, 6}, (float[]) p.toHost());
            assertEquals(2.0, s.item());
        }
    }

    @Test
    void meanItemAndCopyFrom() {
        try (Tensor x = iota(3, 4); Tensor m = x.mean(1, false); Tensor dst = Tensor.zeros(CPU, DType.BF16, 4, 3); Tensor t = x.transpose(0, 1)) {
            assertArrayEquals(new float[]{1.5f, 5.5f, 9.5f}, (float[]) m.toHost());
            dst.copyFrom(t);
            assertArrayEquals(new float[]{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, dst.toFloatArray());
            assertArrayEquals(new long[]{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, dst.toLongArray());
            assertThrows(IllegalStateException.class, x::item);
        }
        try (Tensor d = Tensor.scalar(CPU, DType.F64, 0.1); Tensor big = Tensor.of(CPU, new long[]{(1L << 40) + 1}, 1)) {
            assertEquals(0.1, d.item(), 0.0, "F64 item keeps double precision");
            assertEquals((double) ((1L << 40) + 1), big.item());
        }
    }
}
