package io.reg4rec.engine.cuda;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The own tensor-core GEMMs (gemm_tc.cu and gemm_wgmma.cu through OwnTensorCoreGemm) against the exact product,
 * computed on the CPU in F64 from the same bf16 / fp8 inputs (which F64 holds exactly).
 *
 * <p>Tolerance per element, with mag = (|op(A)| |op(B)|)(i, j) in F64 and v the exact value
 * before the output rounding:
 * <pre>
 *   |got - expected| <= outRel * |expected| + 1.2 * scale * acc(K) * mag + 1e-5 * (1 + |v|)
 *   outRel = 2^-8 (bf16 output: half an ulp of 8 significant bits) or 2^-20 (fp32 output)
 *   acc(K) = (K + 16) * 2^-21          bf16 operands, fp32 accumulation (8x the fp32 bound K 2^-24)
 *   acc(K) = (K / 32 + 2) * 2^-13      fp8 operands: allows the ~14-bit accumulator precision
 *                                       reported for Hopper fp8 tensor cores, per k32 step
 * </pre>
 * 1.2 bounds GELU's slope (max 1.13), and the last term covers fp32 tanhf and the epilogue's
 * fp32 additions. A wrong fragment layout gives errors of order mag / sqrt(K), far outside.
 *
 * <p>Every test runs on each kernel variant the device has ({@link #variants}): mma.sync, and on
 * compute capability 9.0 wgmma with 128- and 256-column tiles, with and without a forced k split.
 */
@Tag("gpu")
class CudaTensorCoreGemmTest {
    private static final int[][] SHAPES = {{1, 1, 1}, {17, 33, 65}, {129, 255, 64}, {130, 70, 200}, {257, 129, 1000}};

    @BeforeEach
    void gpu() {
        assumeGpu();
        assumeTrue(CudaBackend.device(0).computeCapability() >= 80, "bf16 tensor cores need sm_80+");
    }

    @AfterEach
    void clearProperty() {
        System.clearProperty(CudaGemm.PROPERTY);
        System.clearProperty(CudaGemm.FP8_PROPERTY);
        System.clearProperty(CudaGemm.BF16_PROPERTY);
        System.clearProperty(OwnTensorCoreGemm.WGMMA_TILE_PROPERTY);
        System.clearProperty(OwnTensorCoreGemm.WGMMA_SPLIT_PROPERTY);
        WgmmaTuning.reset();
        EXACT.clear();
    }

    /** A kernel choice: tensor-core kernel, and for wgmma the forced kernel variant and k slices (0: the plan's). */
    private record Variant(String kernel, WgmmaTuning.Variant wgmma, int splitK) {
        void use(String kernelProperty) {
            System.setProperty(kernelProperty, kernel);
            WgmmaTuning.use(wgmma == null ? WgmmaTuning.Setting.AUTO : WgmmaTuning.Setting.of(wgmma, splitK));
        }

        @Override
        public String toString() {
            return kernel.equals("mma") ? "mma" : "wgmma " + wgmma + " splitK " + splitK;
        }
    }

    /**
     * mma.sync, and on compute capability 9.0 every built wgmma variant (any of which
     * OwnTensorCoreGemm.DEFAULT_* may name after a sweep) without a k split, and two with one (3 and 2 slices).
     */
    private static Variant[] variants() {
        Variant mma = new Variant("mma", null, 0);
        if (CudaBackend.device(0).computeCapability() != 90) return new Variant[]{mma};
        List<Variant> all = new ArrayList<>();
        all.add(mma);
        for (WgmmaTuning.Variant v : WgmmaTuning.VARIANTS) all.add(new Variant("wgmma", v, 1));
        all.add(new Variant("wgmma", WgmmaTuning.Variant.named("n128_s3_w0"), 3));
        all.add(new Variant("wgmma", WgmmaTuning.Variant.named("n256_s4_w1"), 2));
        return all.toArray(new Variant[0]);
    }

    private static Backend gpuBackend() { return Engine.backend(GPU); }

    /** A stored operand for op(x) of rows x cols (transposed storage when t). */
    static Tensor operand(DType t, long seed, int batch, int rows, int cols, boolean transposed) {
        return transposed ? cpuRandom(t, seed, -1, 1, batch, cols, rows) : cpuRandom(t, seed, -1, 1, batch, rows, cols);
    }

    /** Exact op(a) op(b) (or its magnitude bound with abs) in F64, [batch of the product, m, n] flattened. */
    private static double[] exact(Tensor a, boolean ta, Tensor b, boolean tb, boolean abs) {
        return EXACT.computeIfAbsent(new ExactKey(a, ta, b, tb, abs), key -> computeExact(a, ta, b, tb, abs));
    }

    /** Exact products already computed in this test, by operand identity (every kernel variant checks the same inputs). */
    static final Map<ExactKey, double[]> EXACT = new HashMap<>();

    record ExactKey(Tensor a, boolean ta, Tensor b, boolean tb, boolean abs) {}

    private static double[] computeExact(Tensor a, boolean ta, Tensor b, boolean tb, boolean abs) {
        try (Tensor a64 = a.to(DType.F64); Tensor b64 = b.to(DType.F64);
             Tensor aa = abs ? a64.abs() : a64.contiguous(); Tensor bb = abs ? b64.abs() : b64.contiguous();
             Tensor opA = ta ? aa.transpose(1, 2) : aa.contiguous(); Tensor opB = tb ? bb.transpose(1, 2) : bb.contiguous();
             Tensor p = opA.matmul(opB)) {
            return (double[]) p.toHost();
        }
    }

    /** The host values of an F32 / BF16 CPU tensor as doubles (null when t is null). */
    private static double[] values(Tensor t) {
        if (t == null) return null;
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static double gelu(double x) {
        return 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /**
     * Compares got [batch, m, n] with the exact product times scale plus the epilogue; bias [n],
     * residual [rb, m, n] (rb 1 or batch) on the CPU, or null.
     */
    static void verify(String what, float[] got, Tensor a, boolean ta, Tensor b, boolean tb, int batch, int m, int n, int k,
                               double scale, Tensor bias, boolean gelu, Tensor residual, DType out, boolean fp8) {
        double[] p = exact(a, ta, b, tb, false), mag = exact(a, ta, b, tb, true);
        double[] bv = values(bias), rv = values(residual);
        int pb = p.length / (m * n), rb = residual == null ? 0 : residual.size(0);
        double outRel = out == DType.BF16 ? Math.scalb(1.0, -8) : Math.scalb(1.0, -20);
        double acc = fp8 ? (k / 32.0 + 2) * Math.scalb(1.0, -13) : (k + 16) * Math.scalb(1.0, -21);
        assertEquals((long) batch * m * n, got.length, what + ": length");
        for (int bi = 0; bi < batch; bi++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int pi = (pb == 1 ? 0 : bi) * m * n + i * n + j;
                    double v = p[pi] * scale;
                    if (bv != null) v += bv[j];
                    if (gelu) v = gelu(v);
                    if (rv != null) v += rv[(rb == 1 ? 0 : bi) * m * n + i * n + j];
                    double g = got[bi * m * n + i * n + j];
                    double tol = outRel * Math.abs(v) + 1.2 * Math.abs(scale) * acc * mag[pi] + 1e-5 * (1 + Math.abs(v));
                    if (!(Math.abs(g - v) <= tol)) {
                        fail(what + ": element [" + bi + ", " + i + ", " + j + "] is " + g + ", expected " + v + " (|diff| "
                                + Math.abs(g - v) + " > tolerance " + tol + ")");
                    }
                }
            }
        }
    }

    static float[] runEpilogue(Tensor a, boolean ta, Tensor b, boolean tb, Tensor bias, boolean gelu, Tensor residual,
                                       DType outType, int batch, int m, int n) {
        try (Tensor ga = a.to(GPU); Tensor gb = b.to(GPU); Tensor gBias = bias == null ? null : bias.to(GPU);
             Tensor gRes = residual == null ? null : residual.to(GPU); Tensor out = Tensor.empty(GPU, outType, batch, m, n)) {
            gpuBackend().matmulEpilogue(ga, ta, gb, tb, gBias, gelu, gRes, out);
            return out.toFloatArray();
        }
    }

    @Test
    void bf16AllTransposesAndOutputs() {
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                try (Tensor a = operand(DType.BF16, 10 + variant, 1, m, k, ta); Tensor b = operand(DType.BF16, 20 + variant, 1, k, n, tb)) {
                    for (Variant kernel : variants()) for (DType out : new DType[]{DType.F32, DType.BF16}) {
                        kernel.use(CudaGemm.BF16_PROPERTY);
                        String what = kernel + " bf16 " + m + "x" + n + "x" + k + (ta ? " A^T" : "") + (tb ? " B^T" : "") + " -> " + out;
                        verify(what, runEpilogue(a, ta, b, tb, null, false, null, out, 1, m, n), a, ta, b, tb, 1, m, n, k, 1, null, false, null, out, false);
                    }
                }
            }
        }
    }

    @Test
    void bf16Thousand() {
        for (Variant v : variants()) {
            v.use(CudaGemm.BF16_PROPERTY);
            bf16Thousand(v);
        }
    }

    private void bf16Thousand(Variant kernel) {
        int m = 1000, n = 1000, k = 1000;
        for (boolean t : new boolean[]{false, true}) {
            try (Tensor a = operand(DType.BF16, 31, 1, m, k, t); Tensor b = operand(DType.BF16, 32, 1, k, n, t)) {
                verify(kernel + " bf16 1000^3 transposes " + t, runEpilogue(a, t, b, t, null, false, null, DType.BF16, 1, m, n),
                        a, t, b, t, 1, m, n, k, 1, null, false, null, DType.BF16, false);
            }
        }
    }

    @Test
    void bf16BatchedAndBroadcast() {
        for (Variant v : variants()) {
            v.use(CudaGemm.BF16_PROPERTY);
            bf16BatchedAndBroadcast(v);
        }
    }

    private void bf16BatchedAndBroadcast(Variant kernel) {
        int batch = 3, m = 130, n = 70, k = 200;
        for (int variant = 0; variant < 4; variant++) {
            boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
            try (Tensor a = operand(DType.BF16, 40 + variant, batch, m, k, ta); Tensor b = operand(DType.BF16, 50 + variant, batch, k, n, tb);
                 Tensor b1 = operand(DType.BF16, 60 + variant, 1, k, n, tb)) {
                verify(kernel + " batched variant " + variant, runEpilogue(a, ta, b, tb, null, false, null, DType.F32, batch, m, n),
                        a, ta, b, tb, batch, m, n, k, 1, null, false, null, DType.F32, false);
                verify(kernel + " batched, B broadcast, variant " + variant, runEpilogue(a, ta, b1, tb, null, false, null, DType.BF16, batch, m, n),
                        a, ta, b1, tb, batch, m, n, k, 1, null, false, null, DType.BF16, false);
            }
        }
    }

    @Test
    void epilogues() {
        for (Variant v : variants()) {
            v.use(CudaGemm.BF16_PROPERTY);
            epilogues(v);
        }
    }

    private void epilogues(Variant kernel) {
        int batch = 2, m = 77, n = 150, k = 96;
        try (Tensor a = operand(DType.BF16, 70, batch, m, k, false); Tensor b = operand(DType.BF16, 71, batch, k, n, true);
             Tensor biasF = cpuRandom(DType.F32, 72, -1, 1, n); Tensor biasB = cpuRandom(DType.BF16, 73, -1, 1, n);
             Tensor resF = cpuRandom(DType.F32, 74, -1, 1, batch, m, n); Tensor resB1 = cpuRandom(DType.BF16, 75, -1, 1, 1, m, n)) {
            Tensor[] biases = {null, biasF, biasB}, residuals = {null, resF, resB1};
            for (Tensor bias : biases) {
                for (boolean gelu : new boolean[]{false, true}) {
                    for (Tensor res : residuals) {
                        for (DType out : new DType[]{DType.F32, DType.BF16}) {
                            String what = kernel + " epilogue bias " + (bias == null ? "-" : bias.dtype()) + " gelu " + gelu + " residual "
                                    + (res == null ? "-" : res.describe()) + " -> " + out;
                            verify(what, runEpilogue(a, false, b, true, bias, gelu, res, out, batch, m, n),
                                    a, false, b, true, batch, m, n, k, 1, bias, gelu, res, out, false);
                        }
                    }
                }
            }
            // Residual added in place: out is the residual.
            try (Tensor ga = a.to(GPU); Tensor gb = b.to(GPU); Tensor gBias = biasF.to(GPU); Tensor acc = resF.to(GPU)) {
                gpuBackend().matmulEpilogue(ga, false, gb, true, gBias, true, acc, acc);
                verify(kernel + " residual in place", acc.toFloatArray(), a, false, b, true, batch, m, n, k, 1, biasF, true, resF, DType.F32, false);
            }
        }
    }

    @Test
    void misalignedViewsAreRepackedNotMiscomputed() {
        for (Variant v : variants()) {
            v.use(CudaGemm.BF16_PROPERTY);
            misalignedViewsAreRepackedNotMiscomputed(v);
        }
    }

    private void misalignedViewsAreRepackedNotMiscomputed(Variant kernel) {
        // Operands sliced at odd offsets with odd leading dimensions break the 16-byte rules.
        int m = 45, n = 37, k = 51;
        try (Tensor bigA = cpuRandom(DType.BF16, 80, -1, 1, 1, m + 3, k + 5); Tensor bigB = cpuRandom(DType.BF16, 81, -1, 1, 1, k + 2, n + 3);
             Tensor gA = bigA.to(GPU); Tensor gB = bigB.to(GPU);
             Tensor a = bigA.slice(1, 1, 1 + m).slice(2, 3, 3 + k); Tensor b = bigB.slice(1, 2, 2 + k).slice(2, 1, 1 + n);
             Tensor va = gA.slice(1, 1, 1 + m).slice(2, 3, 3 + k); Tensor vb = gB.slice(1, 2, 2 + k).slice(2, 1, 1 + n);
             Tensor out = Tensor.empty(GPU, DType.F32, 1, m, n)) {
            gpuBackend().matmulEpilogue(va, false, vb, false, null, false, null, out);
            verify(kernel + " misaligned views", out.toFloatArray(), a, false, b, false, 1, m, n, k, 1, null, false, null, DType.F32, false);
        }
    }

    @Test
    void matmulWithOwnImplUsesTensorCoresCorrectly() {
        System.setProperty(CudaGemm.PROPERTY, "own");
        int m = 200, n = 136, k = 328;
        try (Tensor a = cpuRandom(DType.BF16, 90, -1, 1, m, k); Tensor b = cpuRandom(DType.BF16, 91, -1, 1, n, k);
             Tensor ga = a.to(GPU); Tensor gb = b.to(GPU); Tensor bt = gb.transpose(0, 1); Tensor c = ga.matmul(bt);
             Tensor a3 = a.unsqueeze(0); Tensor b3 = b.unsqueeze(0)) {
            verify("Tensor.matmul own", c.toFloatArray(), a3, false, b3, true, 1, m, n, k, 1, null, false, null, DType.BF16, false);
        }
    }

    @Test
    void longKSmallOutputTakesTheSplitAndKeepsTheEpilogue() {
        // The weight-gradient form (A and B stored k-major, small m x n, long k), planned
        // automatically: on 9.0 wgmma splits k over many slices (OwnTensorCoreGemm.plan).
        int m = 100, n = 200, k = 20000;
        if (CudaBackend.device(0).computeCapability() == 90) {
            OwnTensorCoreGemm.Plan plan = OwnTensorCoreGemm.plan(m, n, 2L * k, 1, CudaBackend.device(0).multiprocessorCount());
            assertTrue(plan.slices() > 1, "expected a k split for " + m + "x" + n + "x" + k + ", got " + plan);
        }
        try (Tensor a = operand(DType.BF16, 95, 1, m, k, true); Tensor b = operand(DType.BF16, 96, 1, k, n, false);
             Tensor bias = cpuRandom(DType.BF16, 97, -1, 1, n); Tensor res = cpuRandom(DType.F32, 98, -1, 1, 1, m, n)) {
            for (DType out : new DType[]{DType.F32, DType.BF16}) {
                verify("long k -> " + out, runEpilogue(a, true, b, false, bias, true, res, out, 1, m, n),
                        a, true, b, false, 1, m, n, k, 1, bias, true, res, out, false);
            }
        }
    }

    @Test
    void wideTilesCoverManyTilesAndPartialEdges() {
        // Enough tiles that the plan picks 256-column tiles by itself on an H200 (132 SMs):
        // 71 x 2 tiles of 128 x 256 with ragged last rows and columns.
        int m = 128 * 70 + 57, n = 500, k = 72;
        if (CudaBackend.device(0).computeCapability() == 90 && CudaBackend.device(0).multiprocessorCount() <= 142
                && OwnTensorCoreGemm.DEFAULT_BF16.equals("auto")) {
            OwnTensorCoreGemm.Plan plan = OwnTensorCoreGemm.plan(m, n, 2L * k, 1, CudaBackend.device(0).multiprocessorCount());
            assertEquals(256, plan.tileN(), "tile width for " + m + "x" + n + "x" + k + ": " + plan);
        }
        try (Tensor a = operand(DType.BF16, 130, 1, m, k, false); Tensor b = operand(DType.BF16, 131, 1, k, n, false)) {
            verify("wide tiles", runEpilogue(a, false, b, false, null, false, null, DType.BF16, 1, m, n),
                    a, false, b, false, 1, m, n, k, 1, null, false, null, DType.BF16, false);
        }
    }

    // ---------------------------------------------------------------- fp8

    private static void assumeFp8() {
        assumeTrue(CudaBackend.device(0).computeCapability() >= 89, "fp8 mma needs sm_89+");
    }

    static float[] runScaled(Tensor a, boolean ta, Tensor b, boolean tb, float sa, float sb, DType outType, int batch, int m, int n) {
        try (Tensor ga = a.to(GPU); Tensor gb = b.to(GPU); Tensor scaleA = Tensor.full(GPU, DType.F32, sa, 1);
             Tensor scaleB = Tensor.full(GPU, DType.F32, sb, 1); Tensor out = Tensor.empty(GPU, outType, batch, m, n)) {
            gpuBackend().matmulScaled(ga, ta, gb, tb, scaleA, scaleB, out);
            return out.toFloatArray();
        }
    }

    static Tensor fp8Operand(DType t, long seed, int batch, int rows, int cols, boolean transposed) {
        // Values in [-2, 2) rounded to the format: exact inputs for both sides.
        return transposed ? cpuRandom(t, seed, -2, 2, batch, cols, rows) : cpuRandom(t, seed, -2, 2, batch, rows, cols);
    }

    @Test
    void fp8AllTypePairsTransposesAndOutputs() {
        assumeFp8();
        DType[][] pairs = {{DType.F8E4M3, DType.F8E4M3}, {DType.F8E5M2, DType.F8E4M3}, {DType.F8E4M3, DType.F8E5M2}};
        for (DType[] pair : pairs) {
            for (int[] s : SHAPES) {
                int m = s[0], n = s[1], k = s[2];
                for (int variant = 0; variant < 4; variant++) {
                    boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                    try (Tensor a = fp8Operand(pair[0], 100 + variant, 1, m, k, ta); Tensor b = fp8Operand(pair[1], 110 + variant, 1, k, n, tb)) {
                        for (Variant kernel : variants()) for (DType out : new DType[]{DType.F32, DType.BF16}) {
                            kernel.use(CudaGemm.FP8_PROPERTY);
                            String what = kernel + " " + pair[0] + " x " + pair[1] + " " + m + "x" + n + "x" + k + (ta ? " A^T" : "")
                                    + (tb ? " B^T" : "") + " -> " + out;
                            verify(what, runScaled(a, ta, b, tb, 0.5f, 3f, out, 1, m, n), a, ta, b, tb, 1, m, n, k, 1.5, null, false, null, out, true);
                        }
                    }
                }
            }
        }
    }

    @Test
    void fp8BatchedThousand() {
        assumeFp8();
        for (Variant v : variants()) {
            v.use(CudaGemm.FP8_PROPERTY);
            fp8BatchedThousand(v.toString());
        }
    }

    private void fp8BatchedThousand(String kernel) {
        int batch = 3, m = 130, n = 70, k = 200;
        try (Tensor a = fp8Operand(DType.F8E4M3, 120, batch, m, k, false); Tensor b = fp8Operand(DType.F8E4M3, 121, batch, k, n, true)) {
            verify(kernel + " fp8 batched", runScaled(a, false, b, true, 0.25f, 0.125f, DType.F32, batch, m, n),
                    a, false, b, true, batch, m, n, k, 0.25 * 0.125, null, false, null, DType.F32, true);
        }
        try (Tensor a = fp8Operand(DType.F8E4M3, 122, 1, 1000, 1000, false); Tensor b = fp8Operand(DType.F8E4M3, 123, 1, 1000, 1000, true)) {
            verify(kernel + " fp8 1000^3", runScaled(a, false, b, true, 2f, 1f, DType.BF16, 1, 1000, 1000),
                    a, false, b, true, 1, 1000, 1000, 1000, 2, null, false, null, DType.BF16, true);
        }
    }

    // ---------------------------------------------------------------- rejections

    @Test
    void invalidArgumentsAreRejectedWithTheRule() {
        try (Tensor e5a = Tensor.zeros(GPU, DType.F8E5M2, 1, 16, 32); Tensor e5b = Tensor.zeros(GPU, DType.F8E5M2, 1, 16, 32);
             Tensor e4 = Tensor.zeros(GPU, DType.F8E4M3, 1, 16, 32);
             Tensor one = Tensor.full(GPU, DType.F32, 1, 1); Tensor two = Tensor.full(GPU, DType.F32, 1, 2);
             Tensor out = Tensor.empty(GPU, DType.F32, 1, 16, 16); Tensor a = Tensor.zeros(GPU, DType.BF16, 1, 16, 32);
             Tensor af = Tensor.zeros(GPU, DType.F32, 1, 16, 32); Tensor bias = Tensor.zeros(GPU, DType.F32, 15)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gpuBackend().matmulScaled(e5a, false, e5b, true, one, one, out));
            assertTrue(e.getMessage().contains("at most one operand may be F8E5M2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gpuBackend().matmulScaled(e4, false, e5b, true, two, one, out));
            assertTrue(e.getMessage().contains("scales must be one-element F32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gpuBackend().matmulEpilogue(a, false, a, true, bias, false, null, out));
            assertTrue(e.getMessage().contains("bias must have shape [16]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gpuBackend().matmulEpilogue(af, false, af, true, null, false, null, out));
            assertTrue(e.getMessage().contains("operands must be BF16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> gpuBackend().matmulEpilogue(a, false, a, false, null, false, null, out));
            assertTrue(e.getMessage().contains("shapes do not match"), e.getMessage());
        }
    }
}
