package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Attention;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.reg4rec.engine.cuda.GpuTesting.GPU;
import static io.reg4rec.engine.cuda.GpuTesting.assumeGpu;
import static io.reg4rec.engine.cuda.GpuTesting.cpuRandom;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused attention kernels against the CPU reference (CpuAttention), forward and backward.
 *
 * <p>Tolerances, per element: |gpu - cpu| <= tol * (|cpu| + max |cpu| over the tensor), with
 * tol = 1e-4 for F32 (fp32 accumulation in a different order than the CPU's double) and 2e-2 for
 * BF16 (outputs and gradients are rounded to bf16, 2^-8 relative, and the backward's D = dO . O
 * uses the rounded output on each side; the tensor-core kernels also round P and dS to bf16 for
 * their second products, as FlashAttention does). Inputs are uniform in [-1, 1) or [-2, 2).
 *
 * <p>Which kernel each case reaches (CudaAttention's dispatch): Tq <= 4 the decode kernel (split
 * over blocks for the 1000-key cache); Tk <= 64 with head dim 32 / 64 the short-key kernels (the
 * model's shapes, 63 / 64 / 65-key boundaries); longer BF16 the tensor-core kernels (backward for
 * head dims 32 / 64); F32, head dim 128 (BF16 backward) and unaligned BF16 rows the SIMT tiled kernels.
 */
@Tag("gpu")
class CudaAttentionTest {
    private static double tolerance(DType t) {
        return t == DType.F32 ? 1e-4 : 2e-2;
    }

    private static void assertClose(String what, Tensor expected, Tensor actual, double tol) {
        assertClose(what, expected, actual, tol, 0);
    }

    /**
     * |expected - actual| <= tol (|expected| + max |expected|) + floor. The floor covers gradients
     * that cancel to (nearly) zero: dQ and dK are sums of P (dP - D), whose terms are of size
     * scale hd max|dO| max|v| max|k| even when their sum is 0.
     */
    private static void assertClose(String what, Tensor expected, Tensor actual, double tol, double floor) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        assertEquals(e.length, a.length, what + ": length");
        double max = 0;
        for (float x : e) if (Float.isFinite(x)) max = Math.max(max, Math.abs(x));
        for (int i = 0; i < e.length; i++) {
            if (e[i] == a[i]) continue;  // includes -inf == -inf for dead rows
            if (!(Math.abs((double) e[i] - a[i]) <= tol * (Math.abs(e[i]) + max) + floor)) {
                fail(what + ": element " + i + " is " + a[i] + ", expected " + e[i] + " (tolerance " + tol + " * (|expected| + " + max + ") + " + floor + ")");
            }
        }
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        for (float x : t.toFloatArray()) if (Float.isFinite(x)) m = Math.max(m, Math.abs(x));
        return m;
    }

    /** I32 padding flags [B, Tk]: about 30% masked; key 0 is left visible unless {@code allowDeadRows}. */
    private static Tensor padding(long seed, int batch, int tk, boolean allowDeadRows) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] f = new int[batch * tk];
        for (int b = 0; b < batch; b++) for (int j = allowDeadRows ? 0 : 1; j < tk; j++) f[b * tk + j] = r.nextDouble() < 0.3 ? 1 : 0;
        return Tensor.of(Device.CPU, f, batch, tk);
    }

    /** Forward (and with {@code grads} the backward) on the GPU against the CPU reference, for the given inputs on the CPU. */
    private static void compare(String what, Tensor q, Tensor k, Tensor v, Tensor pad, boolean causal, boolean grads, long seed) {
        DType t = q.dtype();
        double tol = tolerance(t), scale = 1 / Math.sqrt(q.size(3));
        Tensor gq = q.to(GPU), gk = k.to(GPU), gv = v.to(GPU), gpad = pad == null ? null : pad.to(GPU);
        Attention.Result cpu = Attention.forward(q, k, v, pad, causal, scale);
        Attention.Result gpu = Attention.forward(gq, gk, gv, gpad, causal, scale);
        assertClose(what + " out", cpu.out(), gpu.out(), tol);
        assertClose(what + " logSumExp", cpu.logSumExp(), gpu.logSumExp(), tol);
        if (!grads) return;
        Tensor dOut = cpuRandom(t, seed + 7, -1, 1, q.shape());
        Attention.Gradients cg = Attention.backward(q, k, v, pad, causal, scale, cpu.out(), dOut, cpu.logSumExp());
        Attention.Gradients gg = Attention.backward(gq, gk, gv, gpad, causal, scale, gpu.out(), dOut.to(GPU), gpu.logSumExp());
        double terms = scale * q.size(3) * maxAbs(dOut) * maxAbs(v) * Math.max(maxAbs(k), maxAbs(q));
        double floor = (t == DType.F32 ? 0x1p-18 : 0x1p-10) * terms;
        assertClose(what + " gradQ", cg.gradQ(), gg.gradQ(), tol, floor);
        assertClose(what + " gradK", cg.gradK(), gg.gradK(), tol, floor);
        assertClose(what + " gradV", cg.gradV(), gg.gradV(), tol);
    }

    private static void compareShape(DType t, int batch, int heads, int tq, int tk, int hd, boolean causal, boolean padded, long seed) {
        try (Scope scope = Scope.open()) {
            Tensor q = cpuRandom(t, seed, -2, 2, batch, heads, tq, hd);
            Tensor k = cpuRandom(t, seed + 1, -2, 2, batch, heads, tk, hd);
            Tensor v = cpuRandom(t, seed + 2, -1, 1, batch, heads, tk, hd);
            Tensor pad = padded ? padding(seed + 3, batch, tk, false) : null;
            String what = t + " B" + batch + " H" + heads + " Tq" + tq + " Tk" + tk + " hd" + hd + (causal ? " causal" : "") + (padded ? " padded" : "");
            compare(what, q, k, v, pad, causal, true, seed);
        }
    }

    @Test
    void oddLengthsEveryHeadDimAndDtype() {
        assumeGpu();
        long seed = 1;
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            for (int hd : Attention.CUDA_HEAD_DIMS) {
                compareShape(t, 2, 2, 1, 1, hd, false, false, seed += 10);
                compareShape(t, 2, 3, 7, 7, hd, true, true, seed += 10);
                compareShape(t, 3, 2, 50, 50, hd, true, true, seed += 10);
                compareShape(t, 3, 2, 9, 9, hd, true, false, seed += 10);
                compareShape(t, 3, 2, 9, 50, hd, false, true, seed += 10);   // the model's cross-attention
                compareShape(t, 1, 2, 33, 33, hd, false, false, seed += 10);
                compareShape(t, 1, 2, 129, 129, hd, true, false, seed += 10);
                compareShape(t, 1, 2, 129, 33, hd, false, true, seed += 10);  // more queries than keys
                // the short-key kernels (Tk <= 64, head dim 32 / 64) at their boundaries: 63, 64 keys
                // (short), 65 (tiled); 65 queries = two forward chunks of 64 rows; 5 queries = 4 thread groups
                compareShape(t, 1, 3, 63, 63, hd, false, true, seed += 10);
                compareShape(t, 2, 2, 65, 64, hd, true, true, seed += 10);
                compareShape(t, 2, 1, 17, 65, hd, true, true, seed += 10);
                compareShape(t, 1, 2, 5, 64, hd, false, false, seed += 10);
            }
        }
    }

    @Test
    void length1000() {
        assumeGpu();
        long seed = 500;
        for (int hd : Attention.CUDA_HEAD_DIMS) {
            compareShape(DType.F32, 1, 1, 1000, 1000, hd, true, true, seed += 10);
            compareShape(DType.F32, 1, 1, 1000, 1000, hd, false, false, seed += 10);
        }
        compareShape(DType.BF16, 1, 2, 1000, 1000, 64, true, false, seed += 10);
        compareShape(DType.BF16, 1, 1, 1000, 1000, 128, false, true, seed += 10);
        // many queries over few keys: short forward, tiled backward (Tq above CudaAttention.SHORT_BACKWARD_MAX_QUERIES)
        compareShape(DType.F32, 1, 2, 600, 40, 32, true, true, seed += 10);
        compareShape(DType.BF16, 1, 2, 600, 40, 64, false, true, seed + 10);
    }

    @Test
    void theModelsShapesAtASmallBatch() {
        assumeGpu();
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            compareShape(t, 16, 4, 50, 50, 32, false, true, 900);
            compareShape(t, 16, 4, 9, 9, 32, true, true, 910);
            compareShape(t, 16, 4, 9, 50, 32, false, true, 920);
        }
    }

    /**
     * Every {@link AttentionTuning} combination (the BF16 short-key forward on attention_short.cu or the
     * tensor cores; the short forward's group counts round4 / exact / half; its register cap) at the short-key shapes:
     * group counts that are not a multiple of 4 (exact: 13 groups for 50 queries, 3 for 9, 2 for 5),
     * several chunks per (b, h) (half, and 65 queries), causal, padded, both head dims.
     */
    @Test
    void everyTuningVariantAtTheShortKeyShapes() {
        assumeGpu();
        AttentionTuning.Setting before = AttentionTuning.current();
        try {
            long seed = 5000;
            for (AttentionTuning.Setting setting : AttentionTuning.all()) {
                AttentionTuning.set(setting);
                for (DType t : new DType[]{DType.F32, DType.BF16}) {
                    for (int hd : new int[]{32, 64}) {
                        try {
                            compareShape(t, 3, 2, 50, 50, hd, false, true, seed += 10);
                            compareShape(t, 3, 2, 9, 50, hd, false, true, seed += 10);
                            compareShape(t, 2, 2, 65, 64, hd, true, true, seed += 10);
                            if (hd == 64) continue;  // the rest at head dim 32 only: the test stays short over 12 settings
                            compareShape(t, 3, 2, 50, 50, hd, true, true, seed += 10);
                            compareShape(t, 3, 2, 9, 9, hd, true, true, seed += 10);
                            compareShape(t, 2, 1, 5, 64, hd, false, false, seed += 10);
                            compareShape(t, 1, 3, 63, 63, hd, false, true, seed += 10);
                            compareShape(t, 2, 1, 17, 33, hd, true, false, seed += 10);
                        } catch (AssertionError e) {
                            throw new AssertionError(setting.name() + ": " + e.getMessage(), e);
                        }
                    }
                }
            }
        } finally {
            AttentionTuning.set(before);
        }
    }

    @Test
    void shortForwardGroupRules() {
        assertEquals(16, CudaAttention.shortForwardGroups(50, AttentionTuning.ShortGroups.ROUND4));
        assertEquals(13, CudaAttention.shortForwardGroups(50, AttentionTuning.ShortGroups.EXACT));
        assertEquals(7, CudaAttention.shortForwardGroups(50, AttentionTuning.ShortGroups.HALF));
        assertEquals(16, CudaAttention.shortForwardGroups(200, AttentionTuning.ShortGroups.EXACT));
        assertEquals(8, CudaAttention.shortForwardGroups(200, AttentionTuning.ShortGroups.HALF));
        assertEquals(1, CudaAttention.shortForwardGroups(5, AttentionTuning.ShortGroups.HALF));
        assertEquals(4, CudaAttention.shortForwardGroups(5, AttentionTuning.ShortGroups.ROUND4));
    }

    @Test
    void decodeAgainstSlicesOfAKeyValueCache() {
        assumeGpu();
        long seed = 2000;
        int batch = 2, heads = 3, tmax = 1100;
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            for (int hd : Attention.CUDA_HEAD_DIMS) {
                try (Scope scope = Scope.open()) {
                    Tensor kCache = cpuRandom(t, seed += 10, -2, 2, batch, heads, tmax, hd), vCache = cpuRandom(t, seed += 10, -1, 1, batch, heads, tmax, hd);
                    Tensor gkCache = kCache.to(GPU), gvCache = vCache.to(GPU);
                    // length 1000 takes the split-key path (decode_split + decode_combine), 129 and below the single pass
                    int sms = ((CudaBackend) gkCache.backend()).multiprocessorCount();
                    assertTrue(CudaAttention.decodeSplits((long) batch * heads, 1000, sms) > 1);
                    assertEquals(1, CudaAttention.decodeSplits((long) batch * heads, 129, sms));
                    for (int len : new int[]{1, 7, 129, 1000}) {
                        for (int tq = 1; tq <= 4; tq++) {
                            for (boolean causal : new boolean[]{false, true}) {
                                Tensor q = cpuRandom(t, seed += 10, -2, 2, batch, heads, tq, hd);
                                Tensor pad = len > 1 ? padding(seed + 1, batch, len, false) : null;
                                Tensor k = kCache.slice(2, 0, len), v = vCache.slice(2, 0, len);
                                Tensor gk = gkCache.slice(2, 0, len), gv = gvCache.slice(2, 0, len);
                                double scale = 1 / Math.sqrt(hd);
                                Attention.Result cpu = Attention.forward(q, k, v, pad, causal, scale);
                                Attention.Result gpu = Attention.forward(q.to(GPU), gk, gv, pad == null ? null : pad.to(GPU), causal, scale);
                                String what = t + " decode hd" + hd + " len" + len + " Tq" + tq + (causal ? " causal" : "");
                                assertClose(what + " out", cpu.out(), gpu.out(), tolerance(t));
                                assertClose(what + " logSumExp", cpu.logSumExp(), gpu.logSumExp(), tolerance(t));
                            }
                        }
                    }
                    // the general backward on strided cache slices with a few queries
                    Tensor q = cpuRandom(t, seed += 10, -2, 2, batch, heads, 3, hd);
                    Tensor k = kCache.slice(2, 0, 129), v = vCache.slice(2, 0, 129);
                    assertFalse(k.isContiguous());
                    compare(t + " strided backward hd" + hd, q, k, v, padding(seed, batch, 129, false), true, true, seed);
                }
            }
        }
    }

    @Test
    void rowsThatAreNot16ByteAlignedUseElementLoads() {
        assumeGpu();
        long seed = 3000;
        // (head dim, Tk): BF16 64 / 128 over 100 keys take the SIMT forward and backward instead of the
        // tensor-core ones; 32 over 50 keys the short-key kernels with element loads (F32 and BF16)
        int[][] cases = {{64, 100}, {128, 100}, {32, 50}};
        for (DType t : new DType[]{DType.BF16, DType.F32}) {
            for (int[] c : cases) {
                int hd = c[0], tk = c[1];
                if (t == DType.F32 && tk > CudaAttention.SHORT_MAX_KEYS) continue;
                for (boolean causal : new boolean[]{false, true}) {
                    try (Scope scope = Scope.open()) {
                        int batch = 2, heads = 2, tq = 70;
                        // views of [.., hd + 1] rows from element 1: offset 1, odd time strides
                        Tensor wq = cpuRandom(t, seed += 10, -2, 2, batch, heads, tq, hd + 1);
                        Tensor wk = cpuRandom(t, seed += 10, -2, 2, batch, heads, tk, hd + 1);
                        Tensor wv = cpuRandom(t, seed += 10, -1, 1, batch, heads, tk, hd + 1);
                        Tensor q = wq.slice(3, 1, hd + 1), k = wk.slice(3, 1, hd + 1), v = wv.slice(3, 1, hd + 1);
                        Tensor gq = wq.to(GPU).slice(3, 1, hd + 1), gk = wk.to(GPU).slice(3, 1, hd + 1), gv = wv.to(GPU).slice(3, 1, hd + 1);
                        assertFalse(CudaAttention.mmaAligned(gq, gk, gv));
                        assertFalse(CudaAttention.shortVectorLoads(gq, gk, gv));
                        assertTrue(CudaAttention.mmaAligned(q.contiguous(), k.contiguous(), v.contiguous()));
                        Tensor pad = padding(seed, batch, tk, false);
                        double scale = 1 / Math.sqrt(hd);
                        Attention.Result cpu = Attention.forward(q, k, v, pad, causal, scale);
                        Attention.Result gpu = Attention.forward(gq, gk, gv, pad.to(GPU), causal, scale);
                        String what = "unaligned " + t + " hd" + hd + " Tk" + tk + (causal ? " causal" : "");
                        double tol = tolerance(t);
                        assertClose(what + " out", cpu.out(), gpu.out(), tol);
                        assertClose(what + " logSumExp", cpu.logSumExp(), gpu.logSumExp(), tol);
                        Tensor dOut = cpuRandom(t, seed + 7, -1, 1, q.shape());
                        Attention.Gradients cg = Attention.backward(q, k, v, pad, causal, scale, cpu.out(), dOut, cpu.logSumExp());
                        Attention.Gradients gg = Attention.backward(gq, gk, gv, pad.to(GPU), causal, scale, gpu.out(), dOut.to(GPU), gpu.logSumExp());
                        assertClose(what + " gradQ", cg.gradQ(), gg.gradQ(), tol);
                        assertClose(what + " gradK", cg.gradK(), gg.gradK(), tol);
                        assertClose(what + " gradV", cg.gradV(), gg.gradV(), tol);
                    }
                }
            }
        }
    }

    @Test
    void rowsThatSeeNoKeyGiveZeroMinusInfinityAndZeroGradients() {
        assumeGpu();
        for (DType t : new DType[]{DType.F32, DType.BF16}) {
            // forward: the decode kernel (Tq <= 4), the short-key one (hd 32) and the tiled one (hd 128);
            // backward: the short-key kernel (hd 32) and the tiled pair (hd 128)
            for (int[] tqHd : new int[][]{{3, 32}, {7, 32}, {3, 128}, {7, 128}}) {
                int tq = tqHd[0], hd = tqHd[1];
                try (Scope scope = Scope.open()) {
                    int batch = 2, heads = 2, tk = 5;
                    Tensor q = cpuRandom(t, 1, -2, 2, batch, heads, tq, hd);
                    Tensor k = cpuRandom(t, 2, -2, 2, batch, heads, tk, hd), v = cpuRandom(t, 3, -1, 1, batch, heads, tk, hd);
                    Tensor pad = Tensor.of(Device.CPU, new long[]{0, 0, 1, 0, 0, 1, 1, 1, 1, 1}, batch, tk);  // batch 1 fully padded
                    // causal with Tq > Tk: queries 0 .. Tq - Tk - 1 see no key (Tq 3 over Tk 2; Tq 7 over Tk 5)
                    int causalTk = tq == 3 ? 2 : 5;
                    Tensor kShort = k.slice(2, 0, causalTk), vShort = v.slice(2, 0, causalTk), padShort = pad.slice(1, 0, causalTk);
                    compare(t + " dead rows Tq" + tq, q, k, v, pad, false, true, 5);
                    compare(t + " dead causal rows Tq" + tq + " Tk" + causalTk, q, kShort, vShort, padShort, true, true, 6);
                    Attention.Result gpu = Attention.forward(q.to(GPU), k.to(GPU), v.to(GPU), pad.to(GPU), false, 0.2);
                    float[] out = gpu.out().slice(0, 1, 2).toFloatArray(), lse = gpu.logSumExp().slice(0, 1, 2).toFloatArray();
                    for (float x : out) assertEquals(0f, x);
                    for (float x : lse) assertEquals(Float.NEGATIVE_INFINITY, x);
                    Attention.Gradients g = Attention.backward(q.to(GPU), k.to(GPU), v.to(GPU), pad.to(GPU), false, 0.2, gpu.out(),
                            cpuRandom(t, 9, -1, 1, q.shape()).to(GPU), gpu.logSumExp());
                    for (Tensor x : new Tensor[]{g.gradQ(), g.gradK(), g.gradV()}) for (float f : x.slice(0, 1, 2).toFloatArray()) assertEquals(0f, f);
                }
            }
        }
    }

    @Test
    void paddingMasksOfOtherDtypesAndStrides() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            int batch = 3, heads = 2, tq = 9, tk = 50, hd = 32;
            Tensor q = cpuRandom(DType.F32, 1, -2, 2, batch, heads, tq, hd);
            Tensor k = cpuRandom(DType.F32, 2, -2, 2, batch, heads, tk, hd), v = cpuRandom(DType.F32, 3, -1, 1, batch, heads, tk, hd);
            Tensor flags = padding(4, batch, tk, false);
            Tensor reference = Attention.forward(q, k, v, flags, false, 0.25).out();
            float[] w = new float[batch * (tk + 6)];
            int[] f = (int[]) flags.toHost();
            for (int b = 0; b < batch; b++) for (int j = 0; j < tk; j++) w[b * (tk + 6) + 3 + j] = f[b * tk + j] * 0.5f;  // nonzero, not 1
            Tensor wideGpu = Tensor.of(GPU, w, batch, tk + 6);  // sliced below: a non-contiguous F32 mask
            Tensor[] masks = {flags.to(DType.I64).to(GPU), flags.to(DType.BF16).to(GPU), flags.to(DType.F32).to(GPU), wideGpu.slice(1, 3, 3 + tk)};
            for (Tensor m : masks) {
                Tensor out = Attention.forward(q.to(GPU), k.to(GPU), v.to(GPU), m, false, 0.25).out();
                assertClose("mask " + m.describe() + (m.isContiguous() ? "" : " strided"), reference, out, 1e-4);
            }
        }
    }

    @Test
    void unsupportedHeadDim48ThrowsBeforeLaunch() {
        assumeGpu();
        try (Scope scope = Scope.open()) {
            Tensor q = Tensor.zeros(GPU, DType.F32, 2, 2, 5, 48);
            Tensor out = Tensor.zeros(GPU, DType.F32, 2, 2, 5, 48), lse = Tensor.zeros(GPU, DType.F32, 2, 2, 5);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.backend().attentionForward(q, q, q, null, false, 1, out, lse));
            assertTrue(e.getMessage().contains("head dim 48") && e.getMessage().contains("[32, 64, 128]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.backward(q, q, q, null, false, 1, out, out, lse));
            assertTrue(e.getMessage().contains("head dim 48"), e.getMessage());
            // the device is still usable: nothing was launched
            assertEquals(0f, out.toFloatArray()[0]);
            Tensor i32 = Tensor.zeros(GPU, DType.I32, 2, 2, 5, 32);
            assertThrows(IllegalArgumentException.class, () -> Attention.forward(i32, i32, i32, null, false, 1));
        }
    }
}
