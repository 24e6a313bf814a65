package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.GemmArguments;
import io.reg4rec.engine.Tensor;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;

/**
 * Launches the engine's tensor-core GEMM kernels (kernels/src/main/cuda/gemm_tc.cu, mma.sync, and
 * gemm_wgmma.cu, Hopper warpgroup MMA): bf16 with an optional fused epilogue (any transposes) and
 * fp8 with per-tensor scales. Which GEMM runs where is decided by {@link CudaGemm}; this class
 * only prepares operands, picks the wgmma tile width and k split ({@link #plan}) and launches.
 *
 * <p>Layout rules of the kernels, met here by repacking rather than by rejecting: every operand
 * row starts on a 16-byte boundary (leading dimension and batch stride multiples of 8 bf16 or
 * 16 fp8 elements, data pointer 16-byte aligned) with unit stride along the row, and fp8
 * operands are K-major (A stored [m, k], B stored [n, k]), because fp8 mma.sync takes K-major
 * fragments and ldmatrix cannot transpose bytes. An operand that breaks a rule is first copied
 * (tc_repack_b1 / b2) into a zero-padded buffer of that form, transposed where fp8 needs it;
 * so any shape and view gives the right answer, and the fast path needs no copy.
 */
final class OwnTensorCoreGemm {
    static final String MODULE = "gemm_tc", WGMMA_MODULE = "gemm_wgmma", TMA_MODULE = "gemm_tma";
    /** Threads of a TMA GEMM block: one producer and two consumer warpgroups (gemm_tma.cu). */
    static final int TMA_THREADS = 384;
    static final int TILE = 128, THREADS = 256;
    /** Dynamic shared memory of one block: 3 stages x (A + B) x 128 x 128 bytes (TC_SMEM_BYTES). */
    static final int SHARED_BYTES = 3 * 2 * 128 * 128;
    /**
     * The wgmma variants (WgmmaTuning.VARIANTS) of bf16 and of fp8 GEMMs when
     * -Dreg4rec.gemm.wgmma.variant is unset: "auto" takes the plan's tile width with
     * {@link #DEFAULT_N128} or {@link #DEFAULT_N256}; a variant name (e.g. "n128_s3_w0", as
     * OwnGemmBench --sweep prints them) is used for every shape of that type. fp8: the first fp8
     * kernel's cut (128 x 128 tiles, 3 stages, two blocks per multiprocessor), measured 1.5x faster
     * on the H200 than the 128 x 256 one-block cut at 4096^3 and 8192^3 (0.237 vs 0.361 ms, 1.540 vs 2.396 ms).
     * bf16: the same cut; OwnGemmBench --sweep on the H200 (commit a4187b7): 8192^3 2.647 ms
     * (n256_s4_w1 3.146, auto 3.155), 51200x640x128 0.128 ms (n256 0.299), 4096^3 0.541 ms
     * (n128_s6_w1 0.532, n256_s4_w1 0.645).
     */
    static final String DEFAULT_BF16 = "n128_s3_w0", DEFAULT_FP8 = "n128_s3_w0";
    /** The variants "auto" uses per tile width: 2 blocks per multiprocessor at 128 (as the first fp8 kernel), the deeper ring at 256. */
    static final String DEFAULT_N128 = "n128_s3_w0", DEFAULT_N256 = "n256_s4_w1";
    /** Kept for the tests and tools that name them: see {@link WgmmaTuning}. */
    static final String WGMMA_TILE_PROPERTY = WgmmaTuning.TILE_PROPERTY, WGMMA_SPLIT_PROPERTY = WgmmaTuning.SPLIT_PROPERTY;
    /** A wgmma block works on at least this many 128-byte k tiles when the k range is split. */
    static final int MIN_TILES_PER_SLICE = 8;
    /** Workspace limit of split-K (fp32 partial sums of every slice). */
    static final long MAX_SPLIT_WORKSPACE_BYTES = 256L << 20;
    private static final int EPI_NONE = 0, EPI_F32 = 1, EPI_BF16 = 2;

    private final CudaBackend backend;
    private final Set<String> sharedMemoryRaised = ConcurrentHashMap.newKeySet();
    /** Reasons already logged for falling back from the TMA kernel (each said once). */
    private static final Set<String> TMA_FALLBACKS_LOGGED = ConcurrentHashMap.newKeySet();
    /** TMA kernel launches so far (tests check that the path they mean to cover ran). */
    static final java.util.concurrent.atomic.LongAdder TMA_LAUNCHES = new java.util.concurrent.atomic.LongAdder();
    /** Of those, the launches whose output tiles went out through TMA stores (see {@link #outputMap}). */
    static final java.util.concurrent.atomic.LongAdder TMA_STORE_LAUNCHES = new java.util.concurrent.atomic.LongAdder();

    OwnTensorCoreGemm(CudaBackend backend) {
        this.backend = backend;
    }

    /**
     * bf16 x bf16 (fp32 accumulation) with the epilogue of {@link io.reg4rec.engine.Backend#matmulEpilogue}:
     * on mma.sync (sm_80+, gemm_tc.cu), Hopper's warpgroup MMA (sm_90 only, gemm_wgmma.cu) or, with
     * {@link CudaGemm.TensorCoreKernel#TMA}, the TMA-fed warp-specialised kernel where {@link #tmaRoute} takes it.
     */
    void bf16(GemmArguments g, Tensor a, boolean ta, Tensor b, boolean tb, Tensor bias, boolean gelu, Tensor residual, Tensor out,
              CudaGemm.TensorCoreKernel kernel) {
        if (a.dtype() != DType.BF16 || b.dtype() != DType.BF16) {
            throw new IllegalArgumentException("bf16 tensor-core GEMM: operands must be BF16, got " + a.describe() + " x " + b.describe());
        }
        if (g.batch == 0 || g.m == 0 || g.n == 0) return;
        try (Operand pa = Operand.prepare(backend, a, false); Operand pb = Operand.prepare(backend, b, false)) {
            String name = "gemm_bf16_" + (ta ? "t" : "n") + (tb ? "t" : "n") + "_" + outSuffix(out);
            switch (kernel) {
                case TMA -> launchTmaOrWgmma(name, 2, g, pa, !ta, pb, tb, bias, gelu, residual, null, null, out);
                case WGMMA -> launchWgmma("wg_" + name, 2, g, pa, pb, bias, gelu, residual, null, null, out);
                case MMA -> launch(MODULE, "tc_" + name, SHARED_BYTES, g, pa, pb, bias, gelu, residual, null, null, out);
            }
        }
    }

    /**
     * fp8 x fp8 scaled GEMM of {@link io.reg4rec.engine.Backend#matmulScaled}: on mma.sync (sm_89+,
     * gemm_tc.cu), Hopper's warpgroup MMA (sm_90 only, gemm_wgmma.cu) or, with
     * {@link CudaGemm.TensorCoreKernel#TMA}, the TMA-fed warp-specialised kernel where {@link #tmaRoute} takes it.
     */
    void fp8(GemmArguments g, Tensor a, boolean ta, Tensor b, boolean tb, Tensor aScale, Tensor bScale, Tensor out,
             CudaGemm.TensorCoreKernel kernel) {
        if (g.batch == 0 || g.m == 0 || g.n == 0) return;
        // Both operands K-major: A stored [m, k] (ta false), B stored [n, k] (tb true).
        try (Operand pa = Operand.prepare(backend, a, ta); Operand pb = Operand.prepare(backend, b, !tb)) {
            String name = "gemm_" + fp8Suffix(a.dtype()) + "_" + fp8Suffix(b.dtype()) + "_" + outSuffix(out);
            switch (kernel) {
                case TMA -> launchTmaOrWgmma(name, 1, g, pa, true, pb, true, null, false, null, aScale, bScale, out);
                case WGMMA -> launchWgmma("wg_" + name, 1, g, pa, pb, null, false, null, aScale, bScale, out);
                case MMA -> launch(MODULE, "tc_" + name, SHARED_BYTES, g, pa, pb, null, false, null, aScale, bScale, out);
            }
        }
    }

    private void launch(String module, String name, int sharedBytes, GemmArguments g, Operand pa, Operand pb, Tensor bias, boolean gelu, Tensor residual,
                        Tensor aScale, Tensor bScale, Tensor out) {
        Tensor res = residualForKernel(residual);
        try {
            long tiles = (long) g.batch * ((g.m + TILE - 1) / TILE) * ((g.n + TILE - 1) / TILE);
            checkGrid(g, tiles, TILE);
            raiseSharedMemory(module, name, sharedBytes);
            backend.kernel(module, name)
                    .ptr(backend.pointer(pa.tensor)).ptr(backend.pointer(pb.tensor)).ptr(backend.pointer(out))
                    .ptr(bias == null ? new CUdeviceptr() : backend.pointer(bias))
                    .ptr(res == null ? new CUdeviceptr() : backend.pointer(res))
                    .ptr(aScale == null ? new CUdeviceptr() : backend.pointer(aScale))
                    .ptr(bScale == null ? new CUdeviceptr() : backend.pointer(bScale))
                    .struct(shape(g, pa, pb, bias, gelu, res, out))
                    .launch(backend.stream(), tiles, 1, THREADS, 1, sharedBytes);
        } finally {
            if (res != residual) res.close();
        }
    }

    /**
     * gemm_wgmma.cu: {@code name} plus the tile-width suffix, over the grid {@link #plan} gives;
     * with a k split, into a workspace of fp32 partial sums that wg_splitk_reduce_* then adds up
     * (slice by slice, so the result does not depend on timing) and passes through the epilogue.
     */
    private void launchWgmma(String name, int elementBytes, GemmArguments g, Operand pa, Operand pb, Tensor bias, boolean gelu,
                             Tensor residual, Tensor aScale, Tensor bScale, Tensor out) {
        Plan plan = plan(g.m, g.n, (long) g.k * elementBytes, g.batch, backend.multiprocessorCount(), elementBytes == 1);
        String kernelName = name + "_" + plan.variant().suffix();
        int sharedBytes = plan.variant().sharedBytes();
        Tensor res = residualForKernel(residual);
        Tensor partial = null;
        try {
            long tiles = (long) g.batch * ((g.m + TILE - 1) / TILE) * ((g.n + plan.tileN() - 1) / plan.tileN());
            checkGrid(g, tiles, plan.tileN());
            long[] shape = shape(g, pa, pb, bias, gelu, res, out);
            if (plan.slices() > 1) {
                partial = Tensor.empty(out.device(), DType.F32, plan.slices() * g.batch, g.m, g.n);
            }
            raiseSharedMemory(WGMMA_MODULE, kernelName, sharedBytes);
            backend.kernel(WGMMA_MODULE, kernelName)
                    .ptr(backend.pointer(pa.tensor)).ptr(backend.pointer(pb.tensor)).ptr(backend.pointer(out))
                    .ptr(bias == null ? new CUdeviceptr() : backend.pointer(bias))
                    .ptr(res == null ? new CUdeviceptr() : backend.pointer(res))
                    .ptr(aScale == null ? new CUdeviceptr() : backend.pointer(aScale))
                    .ptr(bScale == null ? new CUdeviceptr() : backend.pointer(bScale))
                    .struct(shape)
                    .ptr(partial == null ? new CUdeviceptr() : backend.pointer(partial))
                    .i64(plan.kTilesPerSlice())
                    .launch(backend.stream(), tiles, plan.slices(), THREADS, 1, sharedBytes);
            if (partial != null) {
                long total = (long) g.batch * g.m * g.n;
                backend.kernel(WGMMA_MODULE, "wg_splitk_reduce_" + outSuffix(out))
                        .ptr(backend.pointer(partial)).ptr(backend.pointer(out))
                        .ptr(bias == null ? new CUdeviceptr() : backend.pointer(bias))
                        .ptr(res == null ? new CUdeviceptr() : backend.pointer(res))
                        .ptr(aScale == null ? new CUdeviceptr() : backend.pointer(aScale))
                        .ptr(bScale == null ? new CUdeviceptr() : backend.pointer(bScale))
                        .struct(shape)
                        .i64(plan.slices())
                        .launch(backend.stream(), Math.min((total + 255) / 256, (long) backend.multiprocessorCount() * 16), THREADS);
            }
        } finally {
            if (partial != null) partial.close();
            if (res != residual) res.close();
        }
    }

    /**
     * Where the TMA kernel family was chosen: gemm_tma.cu with the variant {@link #tmaRoute} gives,
     * else (no variant for this shape, or the tensor maps cannot be encoded) gemm_wgmma.cu as
     * {@link #launchWgmma}. {@code aKMajor} / {@code bKMajor}: A stored [m, k] / B stored [n, k].
     */
    private void launchTmaOrWgmma(String name, int elementBytes, GemmArguments g, Operand pa, boolean aKMajor, Operand pb, boolean bKMajor,
                                  Tensor bias, boolean gelu, Tensor residual, Tensor aScale, Tensor bScale, Tensor out) {
        int smCount = backend.multiprocessorCount();
        Plan plan = plan(g.m, g.n, (long) g.k * elementBytes, g.batch, smCount, elementBytes == 1);
        WgmmaTuning.TmaVariant variant = g.k == 0 ? null : tmaRoute(g.m, g.n, g.k, g.batch, smCount, plan, WgmmaTuning.tmaVariant(), CudaGemm.tmaForced(elementBytes == 1));
        if (variant != null) {
            long[] mapA, mapB;
            try {
                mapA = tensorMap(pa, DeviceAddress.of(backend.pointer(pa.tensor)), aKMajor, aKMajor ? g.k : g.m, aKMajor ? g.m : g.k, 128,
                        elementBytes, g.batch);
                mapB = tensorMap(pb, DeviceAddress.of(backend.pointer(pb.tensor)), bKMajor, bKMajor ? g.k : g.n, bKMajor ? g.n : g.k,
                        variant.tileN(), elementBytes, g.batch);
            } catch (TensorMaps.TensorMapException e) {
                logTmaFallback(e.getMessage());
                mapA = mapB = null;
            }
            if (mapA != null) {
                launchTma("tma_" + name + "_" + variant.suffix(), variant, g, mapA, mapB, bias, gelu, residual, aScale, bScale, out, pa, pb);
                return;
            }
        }
        launchWgmma("wg_" + name, elementBytes, g, pa, pb, bias, gelu, residual, aScale, bScale, out);
    }

    /**
     * Shortest k the TMA kernel takes by default. With the lean epilogue and TMA stores it wins at
     * the model's k = 128 layers too (OwnGemmBench --sweep, H200, 51200 x 640 x 128: bf16 0.067 vs
     * 0.080 ms, fp8 0.052 vs 0.071); below one 128-byte k tile per stage nothing was measured.
     */
    static final long TMA_MIN_K = 128;

    /**
     * The TMA variant for a GEMM of m x n tiles (batch of them) whose wgmma plan is {@code plan},
     * or null to keep gemm_wgmma.cu: that kernel stays for split-K plans (the TMA kernel has no k
     * split) and, unless {@code forced}, for k below {@link #TMA_MIN_K} and for problems of less
     * than one wave of 128 x 128 tiles, where the two-blocks-per-multiprocessor cp.async kernel keeps
     * more multiprocessors busy. The variant: {@code forcedVariant} when set, else 128 x 128 tiles
     * with 6 stages (n128_s6), which beat n256_s4 at every size of the H200 sweep but bf16 8192^3
     * (bench/RESULTS.md).
     */
    static WgmmaTuning.TmaVariant tmaRoute(long m, long n, long k, long batch, int smCount, Plan plan, WgmmaTuning.TmaVariant forcedVariant,
                                           boolean forced) {
        if (plan.slices() > 1) return null;
        long rowTiles = (m + TILE - 1) / TILE;
        if (!forced && (k < TMA_MIN_K || batch * rowTiles * ((n + 127) / 128) < smCount)) return null;
        if (forcedVariant != null) return forcedVariant;
        return WgmmaTuning.TmaVariant.named("n128_s6");
    }

    /**
     * The 3-D tensor map of an operand as stored: {inner, outer, batch} elements, rows ld apart;
     * a K-major operand is read in boxes of 128 bytes of k x {@code rows} (128 for A, the tile
     * width for B), an MN-major (bf16) one in boxes of 64 x 64 (gemm_tma.cu's header). A broadcast
     * operand (batch stride 0) gets a batch extent of 1. Operands whose batches overlap (stride
     * below one matrix) break TMA's stride rule and are refused here (the caller falls back).
     */
    private static long[] tensorMap(Operand p, long address, boolean kMajor, long inner, long outer, int rows, int elementBytes, long batch) {
        long matrixBytes = outer * p.ld * elementBytes;
        if (p.batchStride != 0 && p.batchStride < outer * p.ld) {
            throw new TensorMaps.TensorMapException("operand batches overlap (batch stride " + p.batchStride + " < " + outer + " rows x ld "
                    + p.ld + "); TMA needs each batch stride to cover the matrix");
        }
        return tensorMap(TensorMaps.driver(), address, elementBytes, kMajor, inner, outer, p.ld,
                p.batchStride == 0 ? 1 : batch, p.batchStride == 0 ? matrixBytes : p.batchStride * elementBytes, rows);
    }

    /** The tensor map of an operand described by plain numbers (testable without a device). */
    static long[] tensorMap(TensorMaps maps, long address, int elementBytes, boolean kMajor, long inner, long outer, long ld,
                            long batchExtent, long batchStrideBytes, int rows) {
        int dataType = elementBytes == 1 ? TensorMaps.DATA_TYPE_UINT8 : TensorMaps.DATA_TYPE_BFLOAT16;
        int[] box = kMajor ? new int[]{128 / elementBytes, rows, 1} : new int[]{64, 64, 1};
        return maps.encodeTiled(dataType, elementBytes, address, new long[]{inner, outer, batchExtent},
                new long[]{ld * elementBytes, batchStrideBytes}, box, TensorMaps.SWIZZLE_128B);
    }

    private static void logTmaFallback(String reason) {
        if (TMA_FALLBACKS_LOGGED.size() < 16 && TMA_FALLBACKS_LOGGED.add(reason)) {
            System.err.println("[reg4rec] TMA GEMM not used (" + reason + "); the cp.async wgmma kernel runs instead");
        }
    }

    /** gemm_tma.cu: persistent blocks, one per multiprocessor at most, over the 128 x tileN tiles of C. */
    private void launchTma(String kernelName, WgmmaTuning.TmaVariant variant, GemmArguments g, long[] mapA, long[] mapB, Tensor bias,
                           boolean gelu, Tensor residual, Tensor aScale, Tensor bScale, Tensor out, Operand pa, Operand pb) {
        Tensor res = residualForKernel(residual);
        try {
            long tiles = (long) g.batch * ((g.m + TILE - 1) / TILE) * ((g.n + variant.tileN() - 1) / variant.tileN());
            checkGrid(g, tiles, variant.tileN());
            raiseSharedMemory(TMA_MODULE, kernelName, variant.sharedBytes());
            long[] mapC = outputMap(variant, g, out);
            backend.kernel(TMA_MODULE, kernelName)
                    .struct(mapA).struct(mapB).struct(mapC == null ? new long[TensorMaps.MAP_BYTES / 8] : mapC).ptr(backend.pointer(out))
                    .ptr(bias == null ? new CUdeviceptr() : backend.pointer(bias))
                    .ptr(res == null ? new CUdeviceptr() : backend.pointer(res))
                    .ptr(aScale == null ? new CUdeviceptr() : backend.pointer(aScale))
                    .ptr(bScale == null ? new CUdeviceptr() : backend.pointer(bScale))
                    .struct(shape(g, pa, pb, bias, gelu, res, out))
                    .i32(mapC == null ? 0 : 1)
                    .launch(backend.stream(), Math.min(tiles, backend.multiprocessorCount()), 1, TMA_THREADS, 1, variant.sharedBytes());
            TMA_LAUNCHES.increment();
            if (mapC != null) TMA_STORE_LAUNCHES.increment();
        } finally {
            if (res != residual) res.close();
        }
    }

    /**
     * The tensor map the TMA kernel stores its output tiles through ({n, m, batch} bf16 elements,
     * boxes of 64 x 128, 128-byte swizzle), or null to store from the registers: only bf16 outputs
     * of variants with a staging tile (128 x 128), and only when C's rows and start meet TMA's
     * 16-byte rule (n a multiple of 8), unless {@link WgmmaTuning#TMA_STORE_PROPERTY} is false. A map
     * the driver refuses also means null, with one log line.
     */
    private long[] outputMap(WgmmaTuning.TmaVariant variant, GemmArguments g, Tensor out) {
        if (!variant.stagesOutput() || out.dtype() != DType.BF16 || g.n % 8 != 0 || !WgmmaTuning.tmaStoreEnabled()) return null;
        long address = DeviceAddress.of(backend.pointer(out));
        if (address % 16 != 0) return null;
        try {
            return TensorMaps.driver().encodeTiled(TensorMaps.DATA_TYPE_BFLOAT16, 2, address, new long[]{g.n, g.m, g.batch},
                    new long[]{g.n * 2L, g.m * g.n * 2L}, new int[]{64, TILE, 1}, TensorMaps.SWIZZLE_128B);
        } catch (TensorMaps.TensorMapException e) {
            logTmaFallback("output map: " + e.getMessage() + "; stores from the registers");
            return null;
        }
    }

    /**
     * How a wgmma GEMM is cut: tile width (tileN 128 or 256 columns of C per block, always 128 rows)
     * and k split (slices blocks per tile, each over kTilesPerSlice k tiles of 128 bytes; slices 1:
     * no split, kTilesPerSlice then covers all of k).
     */
    record Plan(WgmmaTuning.Variant variant, int slices, long kTilesPerSlice) {
        int tileN() {
            return variant.tileN();
        }
    }

    /**
     * The wgmma cut for an m x n x (kBytes of k) problem on a device of smCount multiprocessors.
     * <ul>
     * <li>tileN 256 (one 128 x 256 tile per block: half the B-tile loads per flop of 128 x 128)
     *   when it adds no padding columns (n rounds up to the same multiple of 128 and of 256) and
     *   still gives every multiprocessor a tile; else 128.
     * <li>split-K when the tiles alone leave most multiprocessors idle (at most a quarter busy)
     *   and k is long (at least 2 x {@link #MIN_TILES_PER_SLICE} k tiles): the model's weight
     *   gradients, 128 x 640 with k = 51200, have 5 tiles for 132 multiprocessors. slices =
     *   smCount / tiles (one wave), at most kTiles / MIN_TILES_PER_SLICE, and within
     *   {@link #MAX_SPLIT_WORKSPACE_BYTES}; then no slice is left empty.
     * </ul>
     * The kernel variant for that tile width is {@link #DEFAULT_BF16}'s (or {@link #DEFAULT_FP8}'s). {@link WgmmaTuning#current()}
     * (system properties read once, or what tests and benchmarks set) overrides variant, tile
     * width and k split (tests use it to cover every variant on small shapes).
     */
    static Plan plan(long m, long n, long kBytes, long batch, int smCount) {
        return plan(m, n, kBytes, batch, smCount, false);
    }

    /** As {@link #plan(long, long, long, long, int)} for bf16 (fp8 false) or fp8 operands (their own default variant). */
    static Plan plan(long m, long n, long kBytes, long batch, int smCount, boolean fp8) {
        WgmmaTuning.Setting tuning = WgmmaTuning.current();
        long rowTiles = (m + TILE - 1) / TILE;
        long tiles256 = batch * rowTiles * ((n + 255) / 256);
        boolean wide = (n + 255) / 256 * 256 == (n + 127) / 128 * 128 && tiles256 >= smCount;
        WgmmaTuning.Variant variant = tuning.variant() != null ? tuning.variant()
                : tuning.tileN() != 0 ? DEFAULT_VARIANTS[tuning.tileN() / 128]
                : DEFAULT_VARIANTS[fp8 ? 3 : 0] != null ? DEFAULT_VARIANTS[fp8 ? 3 : 0]
                : DEFAULT_VARIANTS[wide ? 2 : 1];
        int tileN = variant.tileN();
        long tiles = batch * rowTiles * ((n + tileN - 1) / tileN);
        long kTiles = Math.max(1, (kBytes + 127) / 128);
        long slices = 1;
        if (tiles * 4 <= smCount && kTiles >= 2L * MIN_TILES_PER_SLICE) {
            long byWorkspace = Math.max(1, MAX_SPLIT_WORKSPACE_BYTES / Math.max(1, 4 * batch * m * n));
            slices = Math.min(Math.min(smCount / tiles, kTiles / MIN_TILES_PER_SLICE), byWorkspace);
        }
        int forced = tuning.splitK();
        if (forced > 0) slices = Math.min(forced, kTiles);
        slices = Math.max(1, Math.min(slices, 65535));
        long perSlice = (kTiles + slices - 1) / slices;
        slices = (kTiles + perSlice - 1) / perSlice;  // no empty slice
        return new Plan(variant, (int) slices, perSlice);
    }

    /** [0] / [3]: DEFAULT_BF16 / DEFAULT_FP8 when they name a variant (else null), [1]: DEFAULT_N128, [2]: DEFAULT_N256. */
    private static final WgmmaTuning.Variant[] DEFAULT_VARIANTS = {
            DEFAULT_BF16.equals("auto") ? null : WgmmaTuning.Variant.named(DEFAULT_BF16),
            WgmmaTuning.Variant.named(DEFAULT_N128), WgmmaTuning.Variant.named(DEFAULT_N256),
            DEFAULT_FP8.equals("auto") ? null : WgmmaTuning.Variant.named(DEFAULT_FP8)};

    /** The residual as the kernels read it: rows of unit stride (a copy when it has other strides). */
    private static Tensor residualForKernel(Tensor residual) {
        return residual == null || residual.size(2) == 1 || residual.stride(2) == 1 ? residual : residual.contiguous();
    }

    private static void checkGrid(GemmArguments g, long tiles, int tileN) {
        if (tiles > KernelLaunch.MAX_GRID_X) {
            throw new IllegalArgumentException("tensor-core GEMM " + g + ": " + tiles + " tiles of " + TILE + " x " + tileN
                    + " exceed the grid limit " + KernelLaunch.MAX_GRID_X);
        }
    }

    /** gemm_tc.cuh's TcShape, field by field. */
    private static long[] shape(GemmArguments g, Operand pa, Operand pb, Tensor bias, boolean gelu, Tensor res, Tensor out) {
        int outBytes = out.dtype().byteSize();
        boolean pairStores = g.n % 2 == 0 && (out.offset() * outBytes) % 8 == 0;
        return new long[]{
                g.m, g.n, g.k, pa.ld, pb.ld, pa.batchStride, pb.batchStride, g.batch,
                bias == null ? 0 : bias.stride(0), epilogueKind(bias),
                res == null ? 0 : (res.size(1) == 1 ? g.n : res.stride(1)),
                res == null || res.size(0) == 1 ? 0 : res.stride(0), epilogueKind(res),
                gelu ? 1 : 0, pairStores ? 1 : 0};
    }

    /**
     * Kernels above 48 KiB of dynamic shared memory must opt in, once per function; they also ask
     * for the largest shared-memory carveout, so that two 97 KiB blocks fit on one multiprocessor.
     */
    private void raiseSharedMemory(String module, String name, int bytes) {
        String key = module + "/" + name;
        if (sharedMemoryRaised.contains(key)) return;
        CUfunction f = backend.function(module, name);
        CudaBackend.check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + bytes + ")");
        CudaBackend.check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100),
                "cuFuncSetAttribute(" + name + ", PREFERRED_SHARED_MEMORY_CARVEOUT, 100)");
        sharedMemoryRaised.add(key);
    }

    private static int epilogueKind(Tensor t) {
        if (t == null) return EPI_NONE;
        return t.dtype() == DType.F32 ? EPI_F32 : EPI_BF16;
    }

    private static String outSuffix(Tensor out) {
        return switch (out.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("tensor-core GEMM: out must be F32 or BF16, got " + out.describe());
        };
    }

    private static String fp8Suffix(DType t) {
        return switch (t) {
            case F8E4M3 -> "e4m3";
            case F8E5M2 -> "e5m2";
            default -> throw new IllegalArgumentException("fp8 GEMM: operand must be F8E4M3 or F8E5M2, got " + t);
        };
    }

    /** An operand as the kernel reads it: the tensor itself, or a packed copy owned (and closed) here. */
    private static final class Operand implements AutoCloseable {
        final Tensor tensor;
        final boolean owned;
        /** Elements between rows, and between batches (0: one matrix for every batch). */
        final long ld, batchStride;

        private Operand(Tensor tensor, boolean owned, long ld, long batchStride) {
            this.tensor = tensor;
            this.owned = owned;
            this.ld = ld;
            this.batchStride = batchStride;
        }

        /**
         * x as stored ([batch or 1, rows, cols]) when it meets the 16-byte rules, else a padded
         * copy; with {@code transpose} always a copy of its transpose ([batch, cols, rows]).
         */
        static Operand prepare(CudaBackend backend, Tensor x, boolean transpose) {
            int elem = x.dtype().byteSize(), align = 16 / elem;
            int batch = x.size(0), rows = x.size(1), cols = x.size(2);
            if (x.numel() == 0) return new Operand(x, false, align, 0);  // k = 0: nothing is read
            if (!transpose) {
                long ld = rows == 1 ? align : x.stride(1);
                long batchStride = batch == 1 ? 0 : x.stride(0);
                boolean unitRows = cols == 1 || x.stride(2) == 1;
                if (unitRows && ld >= cols && ld % align == 0 && batchStride >= 0 && batchStride % align == 0
                        && (x.offset() * elem) % 16 == 0) {
                    return new Operand(x, false, ld, batchStride);
                }
            }
            int packedRows = transpose ? cols : rows, packedCols = transpose ? rows : cols;
            long ld = (packedCols + align - 1L) / align * align;
            if (ld > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor-core GEMM: operand " + x.describe() + " is too wide to pad");
            Tensor packed = Tensor.empty(x.device(), x.dtype(), batch, packedRows, (int) ld);
            try {
                long tilesR = (packedRows + 31L) / 32, tilesC = (ld + 31) / 32;
                backend.kernel(MODULE, elem == 1 ? "tc_repack_b1" : "tc_repack_b2")
                        .ptr(backend.pointer(x)).ptr(backend.pointer(packed))
                        .i64(packedRows).i64(packedCols).i64(batch == 1 ? 0 : x.stride(0))
                        .i64(transpose ? x.stride(2) : x.stride(1)).i64(transpose ? x.stride(1) : x.stride(2))
                        .i64(ld).i64(batch)
                        .launch(backend.stream(), (long) batch * tilesR * tilesC, 1, 32, 8, 0);
            } catch (RuntimeException e) {
                packed.close();
                throw e;
            }
            return new Operand(packed, true, ld, batch == 1 ? 0 : (long) packedRows * ld);
        }

        @Override
        public void close() {
            if (owned) tensor.close();
        }
    }
}
