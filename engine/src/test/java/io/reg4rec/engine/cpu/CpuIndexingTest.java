package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

class CpuIndexingTest {
    static Tensor indices(DType dt, long seed, int bound, int... shape) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = (int) Shapes.numel(shape);
        if (dt == DType.I32) {
            int[] v = new int[n];
            for (int i = 0; i < n; i++) v[i] = rnd.nextInt(bound);
            return Tensor.of(CPU, v, shape);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextInt(bound);
        return Tensor.of(CPU, v, shape);
    }

    @Test
    void gatherAlongEachAxisWithBothIndexTypes() {
        int[] xs = {5, 6, 7};
        for (DType dt : new DType[]{DType.F32, DType.BF16, DType.I64, DType.F8E5M2}) {
            for (DType it : new DType[]{DType.I32, DType.I64}) {
                try (Tensor base = random(dt, 3, -10, 10, 7, 6, 5); Tensor x = base.permute(2, 1, 0)) {
                    double[] xv = values(x);
                    for (int axis = 0; axis < 3; axis++) {
                        int[] is = {4, 3, 5};
                        try (Tensor idx = indices(it, axis, xs[axis], is); Tensor out = x.gather(axis, idx)) {
                            long[] iv = idx.toLongArray();
                            double[] ov = values(out);
                            for (int p = 0; p < ov.length; p++) {
                                int[] c = coords(is, p);
                                c[axis] = (int) iv[p];
                                assertSame(xv[(int) linear(xs, c)], ov[p], "gather " + dt + " " + it + " axis " + axis);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void indexSelectWithBroadcastIndex() {
        try (Tensor table = random(DType.F32, 1, -1, 1, 10, 4); Tensor ids = Tensor.of(CPU, new long[]{3, 0, 9, 3}, 4); Tensor rows = table.indexSelect(ids)) {
            float[] t = (float[]) table.toHost(), r = (float[]) rows.toHost();
            long[] id = {3, 0, 9, 3};
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) assertEquals(t[(int) id[i] * 4 + j], r[i * 4 + j]);
        }
    }

    @Test
    void scatterAddAccumulatesCollisionsInOrder() {
        for (DType dt : new DType[]{DType.F32, DType.F64, DType.I32, DType.BF16}) {
            for (int axis = 0; axis < 2; axis++) {
                int[] ds = {6, 5};
                int[] is = axis == 0 ? new int[]{9, 4} : new int[]{5, 8};
                try (Tensor dst = random(dt, 1, -4, 4, ds); Tensor idx = indices(DType.I64, 7 + axis, ds[axis], is);
                     Tensor srcBase = random(dt, 2, -4, 4, is[1], is[0]); Tensor src = srcBase.transpose(0, 1);
                     Tensor out = dst.scatterAdd(axis, idx, src)) {
                    double[] expected = values(dst);
                    long[] iv = idx.toLongArray();
                    double[] sv = values(src);
                    for (int p = 0; p < sv.length; p++) {
                        int[] c = coords(is, p);
                        c[axis] = (int) iv[p];
                        int at = (int) linear(ds, c);
                        expected[at] = rounded(dt, expected[at] + sv[p]);
                    }
                    double[] ov = values(out);
                    for (int i = 0; i < ov.length; i++) assertSame(expected[i], ov[i], "scatterAdd " + dt + " axis " + axis + " at " + i);
                }
            }
        }
    }

    @Test
    void outOfRangeIndexIsReportedBeforeWriting() {
        try (Tensor x = random(DType.F32, 1, 0, 1, 3, 5); Tensor idx = Tensor.of(CPU, new int[]{0, 1, 2, 7, 4, 0}, 3, 2)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> x.gather(1, idx));
            String m = e.getMessage();
            assertTrue(m.contains("gather") && m.contains("7") && m.contains("[1, 1]") && m.contains("size 5"), m);
        }
        try (Tensor dst = Tensor.zeros(CPU, DType.F32, 4); Tensor idx = Tensor.of(CPU, new long[]{1, 2, -1}, 3); Tensor src = Tensor.ones(CPU, DType.F32, 3)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> dst.scatterAddInPlace(0, idx, src));
            assertTrue(e.getMessage().contains("scatterAdd") && e.getMessage().contains("-1") && e.getMessage().contains("size 4"), e.getMessage());
            assertArrayEquals(new float[4], (float[]) dst.toHost(), "nothing written");
        }
    }
}
