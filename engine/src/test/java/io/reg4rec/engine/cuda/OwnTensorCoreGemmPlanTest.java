package io.reg4rec.engine.cuda;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** {@link OwnTensorCoreGemm#plan}: the wgmma tile width and k split (pure arithmetic, no GPU). */
class OwnTensorCoreGemmPlanTest {
    private static final int H200_SMS = 132;

    @AfterEach
    void clear() {
        System.clearProperty(OwnTensorCoreGemm.WGMMA_TILE_PROPERTY);
        System.clearProperty(OwnTensorCoreGemm.WGMMA_SPLIT_PROPERTY);
        System.clearProperty(WgmmaTuning.VARIANT_PROPERTY);
        WgmmaTuning.reset();
    }

    /** Every slice non-empty and together they cover all k tiles. */
    private static void assertCovers(OwnTensorCoreGemm.Plan p, long kBytes) {
        long kTiles = Math.max(1, (kBytes + 127) / 128);
        assertTrue(p.slices() >= 1 && p.kTilesPerSlice() >= 1, p.toString());
        assertTrue((long) p.slices() * p.kTilesPerSlice() >= kTiles, "covers k: " + p);
        assertTrue((long) (p.slices() - 1) * p.kTilesPerSlice() < kTiles, "last slice non-empty: " + p);
    }

    /** The variant the plan takes: the per-width default, unless DEFAULT_BF16 names one for all shapes. */
    private static String autoVariant(String perWidthDefault) {
        return OwnTensorCoreGemm.DEFAULT_BF16.equals("auto") ? perWidthDefault : OwnTensorCoreGemm.DEFAULT_BF16;
    }

    /** The tile width the plan takes when its own choice would be width. */
    private static int autoWidth(int width) {
        return WgmmaTuning.Variant.named(autoVariant(width == 256 ? OwnTensorCoreGemm.DEFAULT_N256 : OwnTensorCoreGemm.DEFAULT_N128)).tileN();
    }

    @Test
    void largeSquareProblemsUseWideTilesWithoutSplit() {
        for (int size : new int[]{4096, 8192}) {
            OwnTensorCoreGemm.Plan p = OwnTensorCoreGemm.plan(size, size, 2L * size, 1, H200_SMS);
            assertEquals(autoWidth(256), p.tileN(), p.toString());
            assertEquals(1, p.slices(), p.toString());
            assertCovers(p, 2L * size);
        }
    }

    @Test
    void smallOrPaddedProblemsKeepNarrowTiles() {
        // 1024^3: 32 wide tiles would leave 100 SMs idle.
        assertEquals(autoWidth(128), OwnTensorCoreGemm.plan(1024, 1024, 2048, 1, H200_SMS).tileN());
        // n = 640 pads to 768 with 256-wide tiles, not with 128.
        OwnTensorCoreGemm.Plan fwd = OwnTensorCoreGemm.plan(51200, 640, 256, 1, H200_SMS);
        assertEquals(autoWidth(128), fwd.tileN(), fwd.toString());
        assertEquals(1, fwd.slices(), fwd.toString());
    }

    @Test
    void weightGradientShapesSplitKIntoOneWave() {
        for (long[] mn : new long[][]{{128, 640}, {640, 128}}) {
            long kBytes = 2L * 51200;
            OwnTensorCoreGemm.Plan p = OwnTensorCoreGemm.plan(mn[0], mn[1], kBytes, 1, H200_SMS);
            long tiles = ((mn[0] + 127) / 128) * ((mn[1] + p.tileN() - 1) / p.tileN());
            assertTrue(p.slices() > 1, p.toString());
            assertTrue(tiles * p.slices() <= H200_SMS, "one wave: " + tiles + " tiles x " + p);
            assertTrue(tiles * p.slices() > H200_SMS / 2, "most SMs busy: " + tiles + " tiles x " + p);
            assertTrue(p.kTilesPerSlice() >= OwnTensorCoreGemm.MIN_TILES_PER_SLICE, p.toString());
            assertCovers(p, kBytes);
        }
    }

    @Test
    void shortKIsNeverSplit() {
        OwnTensorCoreGemm.Plan p = OwnTensorCoreGemm.plan(128, 128, 2L * 64 * 15, 1, H200_SMS);  // 15 k tiles
        assertEquals(1, p.slices(), p.toString());
        assertCovers(p, 2L * 64 * 15);
        OwnTensorCoreGemm.Plan empty = OwnTensorCoreGemm.plan(128, 128, 0, 1, H200_SMS);
        assertEquals(1, empty.slices(), empty.toString());
    }

    @Test
    void propertiesForceTileWidthAndSlices() {
        System.setProperty(OwnTensorCoreGemm.WGMMA_TILE_PROPERTY, "256");
        System.setProperty(OwnTensorCoreGemm.WGMMA_SPLIT_PROPERTY, "3");
        WgmmaTuning.reset();  // the properties are read once; reset reads them again
        OwnTensorCoreGemm.Plan p = OwnTensorCoreGemm.plan(17, 33, 2000, 1, H200_SMS);  // 16 k tiles
        assertEquals(256, p.tileN());
        assertEquals(3, p.slices(), p.toString());
        assertEquals(6, p.kTilesPerSlice(), p.toString());
        assertCovers(p, 2000);
        // More slices than k tiles: one slice per k tile.
        OwnTensorCoreGemm.Plan few = OwnTensorCoreGemm.plan(17, 33, 130, 1, H200_SMS);  // 2 k tiles
        assertEquals(2, few.slices(), few.toString());
        assertCovers(few, 130);
        System.setProperty(OwnTensorCoreGemm.WGMMA_TILE_PROPERTY, "192");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, WgmmaTuning::reset);
        assertTrue(e.getMessage().contains("expected 128 or 256"), e.getMessage());
    }

    @Test
    void variantsForceTheKernelAndItsSharedMemory() {
        System.setProperty(WgmmaTuning.VARIANT_PROPERTY, "n256_s3_w0");
        WgmmaTuning.reset();
        OwnTensorCoreGemm.Plan p = OwnTensorCoreGemm.plan(4096, 4096, 8192, 1, H200_SMS);
        assertEquals("n256_s3_w0", p.variant().suffix());
        assertEquals(3 * 384 * 128 + 1024, p.variant().sharedBytes());
        for (WgmmaTuning.Variant v : WgmmaTuning.VARIANTS) {
            WgmmaTuning.use(WgmmaTuning.Setting.of(v, 0));
            assertEquals(v, OwnTensorCoreGemm.plan(1024, 1024, 2048, 1, H200_SMS).variant());
            assertTrue(v.sharedBytes() <= 227 * 1024, v + " fits one block's shared memory");
        }
        System.setProperty(WgmmaTuning.VARIANT_PROPERTY, "n64_s2_w0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, WgmmaTuning::reset);
        assertTrue(e.getMessage().contains("not built"), e.getMessage());
        // The defaults per tile width are built variants.
        WgmmaTuning.use(WgmmaTuning.Setting.AUTO);
        assertEquals(autoVariant(OwnTensorCoreGemm.DEFAULT_N256), OwnTensorCoreGemm.plan(8192, 8192, 8192, 1, H200_SMS).variant().suffix());
        assertEquals(autoVariant(OwnTensorCoreGemm.DEFAULT_N128), OwnTensorCoreGemm.plan(1024, 1024, 2048, 1, H200_SMS).variant().suffix());
        if (!OwnTensorCoreGemm.DEFAULT_FP8.equals("auto")) {
            assertEquals(OwnTensorCoreGemm.DEFAULT_FP8, OwnTensorCoreGemm.plan(8192, 8192, 8192, 1, H200_SMS, true).variant().suffix());
        }
    }
}
