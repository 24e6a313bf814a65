package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cuda.CudaTensorCoreGemmTest.*;
import static io.reg4rec.engine.cuda.GpuTesting.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The TMA-fed warp-specialised GEMM (gemm_tma.cu) against the exact product on the CPU, with
 * CudaTensorCoreGemmTest's tolerances (see its javadoc: bf16 acc(K) = (K + 16) 2^-21, fp8
 * (K / 32 + 2) 2^-13, output rounding 2^-8 for bf16 and 2^-20 for fp32 outputs, 1.2 x for GELU).
 * Every check runs on each built TMA variant with the kernel forced ({@code reg4rec.gemm.bf16 /
 * fp8 = tma}, k split forced off so that small shapes reach it) and asserts that the TMA kernel
 * really launched (OwnTensorCoreGemm.TMA_LAUNCHES), so a silent fallback cannot pass for it.
 * Shapes: m and n not multiples of the tiles, k a multiple of 8 but not of 64 (and k = 1000),
 * batched with per-batch and broadcast operands, all four bf16 transposes, fp8 with scales,
 * every epilogue, enough tiles that persistent blocks take several tiles (mbarrier phases wrap).
 */
@Tag("gpu")
class CudaTmaGemmTest {
    private static final int[][] SHAPES = {{17, 33, 72}, {129, 255, 136}, {200, 300, 200}, {257, 520, 1000}};

    @BeforeEach
    void hopper() {
        assumeGpu();
        assumeTrue(CudaBackend.device(0).computeCapability() == 90, "the TMA GEMM is sm_90a code");
        assumeTrue(TensorMaps.driver().available(), () -> "cuTensorMapEncodeTiled unavailable: " + TensorMaps.driver().problem());
    }

    @AfterEach
    void restore() {
        System.clearProperty(CudaGemm.FP8_PROPERTY);
        System.clearProperty(CudaGemm.BF16_PROPERTY);
        WgmmaTuning.reset();
        CudaTensorCoreGemmTest.EXACT.clear();
    }

    private static Backend gpu() { return Engine.backend(GPU); }

    /** Forces the TMA kernel (variant v, no k split) for bf16 and fp8 GEMMs. */
    private static void useTma(WgmmaTuning.TmaVariant v) {
        System.setProperty(CudaGemm.BF16_PROPERTY, "tma");
        System.setProperty(CudaGemm.FP8_PROPERTY, "tma");
        WgmmaTuning.use(WgmmaTuning.Setting.of(null, 1));
        WgmmaTuning.useTma(v);
    }

    /** Runs body and asserts it launched the TMA kernel at least once. */
    private static void expectTma(String what, Runnable body) {
        long before = OwnTensorCoreGemm.TMA_LAUNCHES.sum();
        body.run();
        assertTrue(OwnTensorCoreGemm.TMA_LAUNCHES.sum() > before, what + ": the TMA kernel did not run");
    }

    /** Runs body and asserts whether its TMA launches stored the output through TMA (staged bf16 tiles) or not. */
    private static void expectTmaStore(String what, boolean viaTma, Runnable body) {
        long before = OwnTensorCoreGemm.TMA_STORE_LAUNCHES.sum();
        expectTma(what, body);
        assertEquals(viaTma, OwnTensorCoreGemm.TMA_STORE_LAUNCHES.sum() > before, what + ": output stored via TMA");
    }

    @Test
    void bf16AllTransposesAndOutputs() {
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            for (int[] s : SHAPES) {
                int m = s[0], n = s[1], k = s[2];
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    try (Tensor a = operand(DType.BF16, 10 + t, 1, m, k, ta); Tensor b = operand(DType.BF16, 20 + t, 1, k, n, tb)) {
                        for (DType out : new DType[]{DType.F32, DType.BF16}) {
                            String what = "tma " + v + " bf16 " + m + "x" + n + "x" + k + (ta ? " A^T" : "") + (tb ? " B^T" : "") + " -> " + out;
                            expectTma(what, () -> verify(what, runEpilogue(a, ta, b, tb, null, false, null, out, 1, m, n),
                                    a, ta, b, tb, 1, m, n, k, 1, null, false, null, out, false));
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16BatchedAndBroadcast() {
        // n = 264: the bf16 outputs below go out through TMA stores on 128 x 128 tiles (batch coordinate 1, 2).
        int batch = 3, m = 130, n = 264, k = 200;
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                try (Tensor a = operand(DType.BF16, 40 + t, batch, m, k, ta); Tensor b = operand(DType.BF16, 50 + t, batch, k, n, tb);
                     Tensor a1 = operand(DType.BF16, 55 + t, 1, m, k, ta); Tensor b1 = operand(DType.BF16, 60 + t, 1, k, n, tb)) {
                    String what = "tma " + v + " batched, transposes " + t;
                    expectTma(what, () -> verify(what, runEpilogue(a, ta, b, tb, null, false, null, DType.F32, batch, m, n),
                            a, ta, b, tb, batch, m, n, k, 1, null, false, null, DType.F32, false));
                    expectTma(what + ", B broadcast", () -> verify(what + ", B broadcast",
                            runEpilogue(a, ta, b1, tb, null, false, null, DType.BF16, batch, m, n),
                            a, ta, b1, tb, batch, m, n, k, 1, null, false, null, DType.BF16, false));
                    expectTma(what + ", A broadcast", () -> verify(what + ", A broadcast",
                            runEpilogue(a1, ta, b, tb, null, false, null, DType.F32, batch, m, n),
                            a1, ta, b, tb, batch, m, n, k, 1, null, false, null, DType.F32, false));
                }
            }
        }
    }

    @Test
    void epilogues() {
        // n = 150 breaks TMA's 16-byte row rule (stores from the registers); n = 200 does not, so bf16
        // outputs of 128 x 128 tiles go through the staging tile and TMA stores (the second tile's
        // second box is partly beyond n, the rows beyond m are clipped).
        for (int n : new int[]{150, 200}) {
            epilogues(2, 77, n, 96);
        }
    }

    private void epilogues(int batch, int m, int n, int k) {
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            try (Tensor a = operand(DType.BF16, 70, batch, m, k, false); Tensor b = operand(DType.BF16, 71, batch, k, n, true);
                 Tensor biasF = cpuRandom(DType.F32, 72, -1, 1, n); Tensor biasB = cpuRandom(DType.BF16, 73, -1, 1, n);
                 Tensor resF = cpuRandom(DType.F32, 74, -1, 1, batch, m, n); Tensor resB1 = cpuRandom(DType.BF16, 75, -1, 1, 1, m, n)) {
                for (Tensor bias : new Tensor[]{null, biasF, biasB}) {
                    for (boolean gelu : new boolean[]{false, true}) {
                        for (Tensor res : new Tensor[]{null, resF, resB1}) {
                            for (DType out : new DType[]{DType.F32, DType.BF16}) {
                                String what = "tma " + v + " epilogue n " + n + " bias " + (bias == null ? "-" : bias.dtype()) + " gelu " + gelu
                                        + " residual " + (res == null ? "-" : res.describe()) + " -> " + out;
                                boolean viaTma = v.stagesOutput() && out == DType.BF16 && n % 8 == 0;
                                expectTmaStore(what, viaTma, () -> verify(what, runEpilogue(a, false, b, true, bias, gelu, res, out, batch, m, n),
                                        a, false, b, true, batch, m, n, k, 1, bias, gelu, res, out, false));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void manyTilesPerPersistentBlock() {
        // 141 x 2 tiles of 128 x 256 (141 x 3 of 128 x 128) over at most 132 blocks, ragged edges:
        // every block runs several tiles. k = 136: 3 k tiles (bf16), fewer than the ring's stages, so
        // the phases wrap within a tile; k = 1000: 16 k tiles (8 fp8), more than the stages.
        int m = 128 * 140 + 57, n = 264;
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            for (int k : new int[]{136, 1000}) {
                for (boolean t : new boolean[]{false, true}) {
                    try (Tensor a = operand(DType.BF16, 130, 1, m, k, t); Tensor b = operand(DType.BF16, 131, 1, k, n, t)) {
                        String what = "tma " + v + " many tiles, k " + k + ", transposes " + t;
                        expectTmaStore(what, v.stagesOutput(), () -> verify(what, runEpilogue(a, t, b, t, null, false, null, DType.BF16, 1, m, n),
                                a, t, b, t, 1, m, n, k, 1, null, false, null, DType.BF16, false));
                    }
                }
                try (Tensor a = fp8Operand(DType.F8E4M3, 132, 1, m, k, false); Tensor b = fp8Operand(DType.F8E4M3, 133, 1, k, n, true)) {
                    String what = "tma " + v + " fp8 many tiles, k " + k;
                    expectTmaStore(what, v.stagesOutput(), () -> verify(what, runScaled(a, false, b, true, 0.5f, 2f, DType.BF16, 1, m, n),
                            a, false, b, true, 1, m, n, k, 1.0, null, false, null, DType.BF16, true));
                }
            }
        }
    }

    @Test
    void autoRoutingTakesTmaForBigShapes() {
        // No property set: on 9.0 the default is TMA for problems of at least one wave of
        // 128 x 128 tiles without a k split (OwnTensorCoreGemm#tmaRoute).
        System.clearProperty(CudaGemm.BF16_PROPERTY);
        WgmmaTuning.reset();
        int sms = CudaBackend.device(0).multiprocessorCount();
        int m = 128 * ((sms + 7) / 8) + 3, n = 1000, k = 1000;  // at least one wave of 128 x 128 tiles
        try (Tensor a = operand(DType.BF16, 140, 1, m, k, false); Tensor b = operand(DType.BF16, 141, 1, k, n, true)) {
            expectTma("auto " + m + "x" + n + "x" + k, () -> verify("auto", runEpilogue(a, false, b, true, null, false, null, DType.BF16, 1, m, n),
                    a, false, b, true, 1, m, n, k, 1, null, false, null, DType.BF16, false));
        }
    }

    @Test
    void misalignedViewsAreRepackedThenTakeTma() {
        int m = 45, n = 37, k = 51;
        useTma(null);
        try (Tensor bigA = cpuRandom(DType.BF16, 80, -1, 1, 1, m + 3, k + 5); Tensor bigB = cpuRandom(DType.BF16, 81, -1, 1, 1, k + 2, n + 3);
             Tensor gA = bigA.to(GPU); Tensor gB = bigB.to(GPU);
             Tensor a = bigA.slice(1, 1, 1 + m).slice(2, 3, 3 + k); Tensor b = bigB.slice(1, 2, 2 + k).slice(2, 1, 1 + n);
             Tensor va = gA.slice(1, 1, 1 + m).slice(2, 3, 3 + k); Tensor vb = gB.slice(1, 2, 2 + k).slice(2, 1, 1 + n);
             Tensor out = Tensor.empty(GPU, DType.F32, 1, m, n)) {
            expectTma("misaligned views", () -> gpu().matmulEpilogue(va, false, vb, false, null, false, null, out));
            verify("tma misaligned views", out.toFloatArray(), a, false, b, false, 1, m, n, k, 1, null, false, null, DType.F32, false);
        }
    }

    @Test
    void fp8AllTypePairsWithScales() {
        DType[][] pairs = {{DType.F8E4M3, DType.F8E4M3}, {DType.F8E5M2, DType.F8E4M3}, {DType.F8E4M3, DType.F8E5M2}};
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            for (DType[] pair : pairs) {
                for (int[] s : SHAPES) {
                    int m = s[0], n = s[1], k = s[2];
                    for (int t = 0; t < 4; t++) {
                        boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                        try (Tensor a = fp8Operand(pair[0], 100 + t, 1, m, k, ta); Tensor b = fp8Operand(pair[1], 110 + t, 1, k, n, tb)) {
                            for (DType out : new DType[]{DType.F32, DType.BF16}) {
                                String what = "tma " + v + " " + pair[0] + " x " + pair[1] + " " + m + "x" + n + "x" + k + (ta ? " A^T" : "")
                                        + (tb ? " B^T" : "") + " -> " + out;
                                expectTma(what, () -> verify(what, runScaled(a, ta, b, tb, 0.5f, 3f, out, 1, m, n),
                                        a, ta, b, tb, 1, m, n, k, 1.5, null, false, null, out, true));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void fp8Batched() {
        int batch = 3, m = 130, n = 270, k = 200;
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) {
            useTma(v);
            try (Tensor a = fp8Operand(DType.F8E4M3, 120, batch, m, k, false); Tensor b = fp8Operand(DType.F8E4M3, 121, batch, k, n, true)) {
                String what = "tma " + v + " fp8 batched";
                expectTma(what, () -> verify(what, runScaled(a, false, b, true, 0.25f, 0.125f, DType.F32, batch, m, n),
                        a, false, b, true, batch, m, n, k, 0.25 * 0.125, null, false, null, DType.F32, true));
            }
        }
    }

    @Test
    void unavailableEncoderFallsBackToTheCpAsyncKernel() {
        useTma(null);
        int m = 200, n = 300, k = 136;
        TensorMaps previous = TensorMaps.swapDriver(TensorMaps.open("/nonexistent/libcuda.so.1"));
        try (Tensor a = operand(DType.BF16, 150, 1, m, k, false); Tensor b = operand(DType.BF16, 151, 1, k, n, false)) {
            long before = OwnTensorCoreGemm.TMA_LAUNCHES.sum();
            float[] got = runEpilogue(a, false, b, false, null, false, null, DType.F32, 1, m, n);
            assertEquals(before, OwnTensorCoreGemm.TMA_LAUNCHES.sum(), "no TMA launch without an encoder");
            verify("fallback", got, a, false, b, false, 1, m, n, k, 1, null, false, null, DType.F32, false);
        } finally {
            TensorMaps.swapDriver(previous);
        }
    }
}
