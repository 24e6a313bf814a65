package io.reg4rec.engine.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * TensorMaps without a GPU: the argument rules, the unavailable-driver paths (what the engine
 * falls back from), and the foreign-function call itself against a stand-in driver library built
 * here with gcc, whose cuTensorMapEncodeTiled records its arguments in the 128-byte map (so the
 * marshalling of every argument is checked) and fails for data type 99 (the error path).
 * Also the choice of TMA variant by shape (OwnTensorCoreGemm#tmaRoute).
 */
class TensorMapsTest {
    /** The stand-in: map[0] data type, [1] rank, [2] address, [3..5] dims, [6..7] strides, [8] boxes and [9] element strides packed by 16 bits, [10] enums by 8 bits, [11] map address mod 64. */
    private static final String FAKE_DRIVER = """
            #include <stdint.h>
            int cuTensorMapEncodeTiled(void *map, int dataType, unsigned rank, void *address, const uint64_t *dims,
                                       const uint64_t *strides, const unsigned *box, const unsigned *elementStrides,
                                       int interleave, int swizzle, int l2, int oob) {
                if (dataType == 99) return 1;
                uint64_t *out = (uint64_t *) map;
                for (int i = 0; i < 16; i++) out[i] = 0;
                out[0] = (uint64_t) dataType;
                out[1] = rank;
                out[2] = (uint64_t) (uintptr_t) address;
                for (unsigned i = 0; i < rank && i < 3; i++) out[3 + i] = dims[i];
                for (unsigned i = 0; i + 1 < rank && i < 2; i++) out[6 + i] = strides[i];
                for (unsigned i = 0; i < rank && i < 3; i++) {
                    out[8] |= (uint64_t) box[i] << (16 * i);
                    out[9] |= (uint64_t) elementStrides[i] << (16 * i);
                }
                out[10] = (uint64_t) interleave | (uint64_t) swizzle << 8 | (uint64_t) l2 << 16 | (uint64_t) oob << 24;
                out[11] = (uint64_t) ((uintptr_t) map % 64);
                return 0;
            }
            """;

    private static Path fakeDriver;
    private static String fakeProblem;

    @BeforeAll
    static void buildFakeDriver(@TempDir Path dir) throws IOException, InterruptedException {
        Path source = dir.resolve("fake_cuda.c");
        Files.writeString(source, FAKE_DRIVER);
        Path library = dir.resolve("libfakecuda.so");
        try {
            Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-o", library.toString(), source.toString())
                    .redirectErrorStream(true).start();
            String log = new String(gcc.getInputStream().readAllBytes());
            if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) fakeProblem = "gcc failed: " + log;
            else fakeDriver = library;
        } catch (IOException e) {
            fakeProblem = "no gcc: " + e.getMessage();
        }
    }

    private static TensorMaps fake() {
        assumeTrue(fakeDriver != null, () -> "stand-in driver not built (" + fakeProblem + ")");
        TensorMaps maps = TensorMaps.open(fakeDriver.toString());
        assertTrue(maps.available(), () -> "stand-in driver: " + maps.problem());
        return maps;
    }

    @Test
    void argumentsReachTheDriverFieldByField() {
        long address = 0x7f00_1234_5600L;
        long[] map = fake().encodeTiled(TensorMaps.DATA_TYPE_BFLOAT16, 2, address, new long[]{1000, 333, 3},
                new long[]{2016, 2016L * 333}, new int[]{64, 256, 1}, TensorMaps.SWIZZLE_128B);
        assertEquals(16, map.length);
        assertEquals(TensorMaps.DATA_TYPE_BFLOAT16, map[0]);
        assertEquals(3, map[1]);
        assertEquals(address, map[2]);
        assertArrayEquals(new long[]{1000, 333, 3}, new long[]{map[3], map[4], map[5]});
        assertArrayEquals(new long[]{2016, 2016L * 333}, new long[]{map[6], map[7]});
        assertEquals(64 | 256L << 16 | 1L << 32, map[8], "box sizes");
        assertEquals(1 | 1L << 16 | 1L << 32, map[9], "element strides");
        assertEquals(TensorMaps.INTERLEAVE_NONE | TensorMaps.SWIZZLE_128B << 8 | TensorMaps.L2_PROMOTION_256B << 16
                | TensorMaps.OOB_FILL_ZERO << 24, map[10], "interleave, swizzle, L2 promotion, OOB fill");
        assertEquals(0, map[11], "the map is 64-byte aligned");
    }

    @Test
    void driverErrorsBecomeTensorMapExceptions() {
        TensorMaps.TensorMapException e = assertThrows(TensorMaps.TensorMapException.class, () -> fake().encodeTiled(99, 2, 0x1000,
                new long[]{64, 64}, new long[]{128}, new int[]{64, 64}, TensorMaps.SWIZZLE_128B));
        assertTrue(e.getMessage().contains("returned CUresult 1"), e.getMessage());
    }

    @Test
    void gemmOperandMapsHaveTheKernelsBoxes() {
        TensorMaps maps = fake();
        // bf16 A stored [m = 300, k = 200] K-major, ld 208, batch 2 at 300 * 208 elements.
        long[] a = OwnTensorCoreGemm.tensorMap(maps, 0x10000, 2, true, 200, 300, 208, 2, 2L * 300 * 208, 128);
        assertArrayEquals(new long[]{200, 300, 2}, new long[]{a[3], a[4], a[5]});
        assertArrayEquals(new long[]{416, 2L * 300 * 208}, new long[]{a[6], a[7]});
        assertEquals(64 | 128L << 16 | 1L << 32, a[8], "K-major bf16 box: 64 x 128");
        // bf16 B stored [k = 200, n = 520] MN-major, broadcast (batch extent 1).
        long[] b = OwnTensorCoreGemm.tensorMap(maps, 0x20000, 2, false, 520, 200, 520, 1, 2L * 200 * 520, 256);
        assertArrayEquals(new long[]{520, 200, 1}, new long[]{b[3], b[4], b[5]});
        assertEquals(64 | 64L << 16 | 1L << 32, b[8], "MN-major box: 64 x 64");
        // fp8 B stored [n = 520, k = 1000] K-major with 256-row tiles.
        long[] f = OwnTensorCoreGemm.tensorMap(maps, 0x30000, 1, true, 1000, 520, 1008, 1, 1008L * 520, 256);
        assertEquals(TensorMaps.DATA_TYPE_UINT8, f[0]);
        assertEquals(128 | 256L << 16 | 1L << 32, f[8], "K-major fp8 box: 128 x 256");
        assertEquals(1008, f[6]);
    }

    @Test
    void rulesAreCheckedBeforeTheCall() {
        TensorMaps unavailable = TensorMaps.open("/nonexistent/libcuda.so.1");
        assertRule(unavailable, "16-byte aligned", 0x1008, new long[]{64, 64}, new long[]{128}, new int[]{64, 64}, 2);
        assertRule(unavailable, "multiple of 16 bytes", 0x1000, new long[]{64, 64}, new long[]{120}, new int[]{64, 64}, 2);
        assertRule(unavailable, "1 to 256", 0x1000, new long[]{64, 512}, new long[]{128}, new int[]{64, 257}, 2);
        assertRule(unavailable, "at most 128 bytes", 0x1000, new long[]{128, 64}, new long[]{256}, new int[]{128, 64}, 2);
        assertRule(unavailable, "1 to 2^32", 0x1000, new long[]{0, 64}, new long[]{128}, new int[]{64, 64}, 2);
        assertRule(unavailable, "expected 1 strides", 0x1000, new long[]{64, 64}, new long[]{128, 256}, new int[]{64, 64}, 2);
        assertRule(unavailable, "box's inner extent", 0x1000, new long[]{64, 64}, new long[]{128}, new int[]{4, 64}, 2);
    }

    private static void assertRule(TensorMaps maps, String rule, long address, long[] dims, long[] strides, int[] box, int elementBytes) {
        TensorMaps.TensorMapException e = assertThrows(TensorMaps.TensorMapException.class,
                () -> maps.encodeTiled(TensorMaps.DATA_TYPE_BFLOAT16, elementBytes, address, dims, strides, box, TensorMaps.SWIZZLE_128B));
        assertTrue(e.getMessage().contains(rule), () -> "expected '" + rule + "' in: " + e.getMessage());
    }

    @Test
    void missingLibraryOrSymbolIsReportedNotThrown() {
        TensorMaps none = TensorMaps.open("/nonexistent/libcuda.so.1");
        assertFalse(none.available());
        assertTrue(none.problem().contains("dlopen(/nonexistent/libcuda.so.1) failed"), none.problem());
        TensorMaps.TensorMapException e = assertThrows(TensorMaps.TensorMapException.class, () -> none.encodeTiled(
                TensorMaps.DATA_TYPE_BFLOAT16, 2, 0x1000, new long[]{64, 64}, new long[]{128}, new int[]{64, 64}, TensorMaps.SWIZZLE_128B));
        assertTrue(e.getMessage().contains("unavailable"), e.getMessage());

        TensorMaps libc = TensorMaps.open("libc.so.6");
        assertFalse(libc.available());
        assertTrue(libc.problem().contains("has no " + TensorMaps.SYMBOL), libc.problem());
    }

    @Test
    void driverLibraryIsFoundInTheProcessMaps(@TempDir Path dir) throws IOException {
        Path maps = dir.resolve("maps");
        Files.writeString(maps, """
                7f0000000000-7f0000001000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6
                7f0000002000-7f0000003000 rw-p 00000000 00:00 0
                7f0000004000-7f0000005000 r-xp 00000000 08:01 5678 /usr/lib/x86_64-linux-gnu/libcuda.so.580.159
                """);
        assertEquals("/usr/lib/x86_64-linux-gnu/libcuda.so.580.159", TensorMaps.mappedLibrary(maps, "libcuda.so"));
        assertNull(TensorMaps.mappedLibrary(maps, "libcublas.so"));
        assertNull(TensorMaps.mappedLibrary(dir.resolve("missing"), "libcuda.so"));
    }

    @Test
    void tmaRouteByShape() {
        int sms = 132;
        OwnTensorCoreGemm.Plan noSplit = OwnTensorCoreGemm.plan(4096, 4096, 2L * 4096, 1, sms);
        assertEquals(1, noSplit.slices());
        assertEquals("n128_s6", OwnTensorCoreGemm.tmaRoute(4096, 4096, 4096, 1, sms, noSplit, null, false).suffix(), "big squares: 128 x 128 tiles, 6 stages");
        // The model's k = 128 layers take TMA too; shorter k keeps the cp.async kernel unless TMA is forced.
        OwnTensorCoreGemm.Plan model = OwnTensorCoreGemm.plan(51200, 640, 2L * 128, 1, sms);
        assertEquals("n128_s6", OwnTensorCoreGemm.tmaRoute(51200, 640, 128, 1, sms, model, null, false).suffix());
        OwnTensorCoreGemm.Plan shortK = OwnTensorCoreGemm.plan(51200, 640, 2L * 64, 1, sms);
        assertNull(OwnTensorCoreGemm.tmaRoute(51200, 640, 64, 1, sms, shortK, null, false));
        assertEquals("n128_s6", OwnTensorCoreGemm.tmaRoute(51200, 640, 64, 1, sms, shortK, null, true).suffix());
        // Less than one wave of 128 x 128 tiles: the cp.async kernel, unless TMA is forced.
        OwnTensorCoreGemm.Plan small = OwnTensorCoreGemm.plan(300, 300, 2L * 640, 1, sms);
        assertNull(OwnTensorCoreGemm.tmaRoute(300, 300, 640, 1, sms, small, null, false));
        assertNotNull(OwnTensorCoreGemm.tmaRoute(300, 300, 640, 1, sms, small, null, true));
        // A k split keeps the cp.async kernel, forced or not.
        OwnTensorCoreGemm.Plan split = OwnTensorCoreGemm.plan(128, 640, 2L * 51200, 1, sms);
        assertTrue(split.slices() > 1, split.toString());
        assertNull(OwnTensorCoreGemm.tmaRoute(128, 640, 51200, 1, sms, split, null, true));
        // A forced variant wins over the shape's choice.
        WgmmaTuning.TmaVariant wide = WgmmaTuning.TmaVariant.named("n256_s4");
        assertEquals(wide, OwnTensorCoreGemm.tmaRoute(4096, 4096, 4096, 1, sms, noSplit, wide, false));
        assertThrows(IllegalArgumentException.class, () -> WgmmaTuning.TmaVariant.named("n512_s2"));
        assertEquals(4 * 384 * 128 + 1024 + 256, WgmmaTuning.TmaVariant.named("n256_s4").sharedBytes());
        // 128 x 128 tiles add the 32 KiB bf16 output staging tile and still fit one block's 227 KiB.
        WgmmaTuning.TmaVariant square = WgmmaTuning.TmaVariant.named("n128_s6");
        assertTrue(square.stagesOutput());
        assertFalse(wide.stagesOutput());
        assertEquals(6 * 256 * 128 + 128 * 128 * 2 + 1024 + 256, square.sharedBytes());
        for (WgmmaTuning.TmaVariant v : WgmmaTuning.TMA_VARIANTS) assertTrue(v.sharedBytes() <= 227 * 1024, v + " fits");
    }
}
