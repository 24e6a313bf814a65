package io.reg4rec.engine.cuda;

import io.reg4rec.engine.QuantChecks;
import io.reg4rec.engine.Tensor;
import jcuda.driver.CUfunction;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;

/**
 * Launches the MPQ kernels of quantize.cu (nearest codeword, gated codeword sum and its
 * backward, relaxed match count) after checking every argument ({@link QuantChecks}) and the
 * launch limits. fp32 only. The nearest-codeword lookup runs on tensor cores (3xTF32) for
 * codewords up to {@link #TENSOR_CORE_MAX_DC} long, on the fp32 SIMT kernel beyond.
 */
final class CudaQuantization {
    private static final int BLOCK = 256;
    /** Items per nearest_codeword block (NC_TM in quantize.cu). */
    private static final int NEAREST_TILE = 128;
    /** Paths staged per relaxed_match_count block iteration (MATCH_PATHS in quantize.cu). */
    private static final int MATCH_PATHS = 32;
    private static final int MAX_GRID_Y = 65535;
    /**
     * Codeword lengths up to this use the tensor-core lookup (3xTF32 products, fp32-level
     * accuracy); its shared memory grows with dc. Longer codewords use the fp32 SIMT kernel.
     */
    static final int TENSOR_CORE_MAX_DC = 128;
    /** Items per block, codewords per tile and threads of nearest_codeword_tf32x3 (NT_* in quantize.cu). */
    private static final int TC_ITEMS = 128, TC_CODES = 64, TC_THREADS = 256;

    private CudaQuantization() {}

    /** Blocks for a grid-stride loop over {@code work} units of {@code perBlock}: enough to fill the device. */
    static long blocksFor(CudaBackend cuda, long work, long perBlock) {
        long blocks = (work + perBlock - 1) / perBlock;
        return Math.max(1, Math.min(blocks, (long) cuda.multiprocessorCount() * 32));
    }

    static void nearestCodeword(CudaBackend cuda, Tensor z, Tensor codebooks, Tensor indices, Tensor distances) {
        QuantChecks.nearestCodeword(cuda.device(), false, z, codebooks, indices, distances);
        long n = z.size(0);
        int m = z.size(1), dc = z.size(2), d = codebooks.size(1);
        if (n == 0 || m == 0) return;
        if (m > MAX_GRID_Y) throw new IllegalArgumentException("nearestCodeword on CUDA: " + m + " codebooks exceed the grid limit of " + MAX_GRID_Y + " (z " + z.describe() + ")");
        if (dc <= TENSOR_CORE_MAX_DC) {
            nearestCodewordTensorCores(cuda, z, codebooks, indices, distances, n, m, d, dc);
            return;
        }
        long tiles = (n + NEAREST_TILE - 1) / NEAREST_TILE;
        CachingAllocator.Block norms = cuda.allocator().allocate((long) m * d * Float.BYTES);
        try {
            cuda.kernel("quantize", "codeword_norms_f32")
                    .ptr(cuda.pointer(codebooks)).ptr(norms.pointer()).i64((long) m * d).i32(dc)
                    .launch(cuda.stream(), blocksFor(cuda, (long) m * d, BLOCK / 32), BLOCK);
            cuda.kernel("quantize", "nearest_codeword_f32")
                    .ptr(cuda.pointer(z)).ptr(cuda.pointer(codebooks)).ptr(norms.pointer())
                    .ptr(cuda.pointer(indices)).ptr(cuda.pointer(distances))
                    .i64(n).i32(m).i32(d).i32(dc)
                    .launch(cuda.stream(), tiles, m, BLOCK, 1, 0);
        } finally {
            // Work queued later on this stream runs after both kernels, so the block may be reused at once.
            cuda.allocator().release(norms);
        }
    }

    /**
     * The tensor-core path (nearest_codeword_tf32x3): codewords split once into tf32 hi / lo parts
     * (codeword_split_tf32, which also writes the norms), then 128-item blocks with the items and
     * one 64-codeword tile at a time in shared memory.
     */
    private static void nearestCodewordTensorCores(CudaBackend cuda, Tensor z, Tensor codebooks, Tensor indices,
                                                   Tensor distances, long n, int m, int d, int dc) {
        int kPad = (dc + 7) & ~7;
        int rowStride = kPad + 4;
        int sharedBytes = (TC_ITEMS + 2 * TC_CODES) * rowStride * Float.BYTES;
        long codewords = (long) m * d;
        boolean vec = dc % 4 == 0 && z.offset() % 4 == 0;
        CachingAllocator.Block norms = cuda.allocator().allocate(codewords * Float.BYTES);
        CachingAllocator.Block hi = cuda.allocator().allocate(codewords * kPad * Float.BYTES);
        CachingAllocator.Block lo = cuda.allocator().allocate(codewords * kPad * Float.BYTES);
        try {
            cuda.kernel("quantize", "codeword_split_tf32")
                    .ptr(cuda.pointer(codebooks)).ptr(norms.pointer()).ptr(hi.pointer()).ptr(lo.pointer())
                    .i64(codewords).i32(dc).i32(kPad)
                    .launch(cuda.stream(), blocksFor(cuda, codewords, BLOCK / 32), BLOCK);
            if (sharedBytes > 48 * 1024) {
                CUfunction f = cuda.function("quantize", "nearest_codeword_tf32x3");
                CudaBackend.check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes),
                        "cuFuncSetAttribute(nearest_codeword_tf32x3, MAX_DYNAMIC_SHARED_SIZE_BYTES, " + sharedBytes + ")");
            }
            cuda.kernel("quantize", "nearest_codeword_tf32x3")
                    .ptr(cuda.pointer(z)).ptr(cuda.pointer(codebooks)).ptr(norms.pointer()).ptr(hi.pointer()).ptr(lo.pointer())
                    .ptr(cuda.pointer(indices)).ptr(cuda.pointer(distances))
                    .i64(n).i32(m).i32(d).i32(dc).i32(vec ? 1 : 0)
                    .launch(cuda.stream(), (n + TC_ITEMS - 1) / TC_ITEMS, m, TC_THREADS, 1, sharedBytes);
        } finally {
            // Work queued later on this stream runs after both kernels, so the blocks may be reused at once.
            cuda.allocator().release(norms);
            cuda.allocator().release(hi);
            cuda.allocator().release(lo);
        }
    }

    /** log2 of the lanes per item of the vectorised codeword kernels: the next power of two of its float4 quads, at most 32. */
    private static int groupLanesLog2(long quads) {
        int log = 0;
        while (log < 5 && (1L << log) < quads) log++;
        return log;
    }

    static void codewordSum(CudaBackend cuda, Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        QuantChecks.codewordSum(cuda.device(), false, codebooks, indices, gates, out);
        long n = indices.size(0);
        int m = indices.size(1), d = codebooks.size(1), dc = codebooks.size(2);
        if (n == 0 || dc == 0) return;
        if (dc % 4 == 0 && codebooks.offset() % 4 == 0 && out.offset() % 4 == 0) {
            int log = groupLanesLog2(dc / 4);
            cuda.kernel("quantize", "codeword_sum_vec_f32")
                    .ptr(cuda.pointer(codebooks)).ptr(cuda.pointer(indices)).ptr(cuda.pointer(gates)).ptr(cuda.pointer(out))
                    .i64(n).i32(m).i32(d).i32(dc).i32(log).ptr(cuda.deviceErrorReport())
                    .launch(cuda.stream(), blocksFor(cuda, n, (BLOCK / 32) * (32L >> log)), BLOCK);
            return;
        }
        cuda.kernel("quantize", "codeword_sum_f32")
                .ptr(cuda.pointer(codebooks)).ptr(cuda.pointer(indices)).ptr(cuda.pointer(gates)).ptr(cuda.pointer(out))
                .i64(n).i32(m).i32(d).i32(dc).ptr(cuda.deviceErrorReport())
                .launch(cuda.stream(), blocksFor(cuda, n, BLOCK / 32), BLOCK);
    }

    static void codewordSumBackward(CudaBackend cuda, Tensor codebooks, Tensor indices, Tensor gates, Tensor gradOut,
                                    Tensor gradCodebooks, Tensor gradGates) {
        QuantChecks.codewordSumBackward(cuda.device(), false, codebooks, indices, gates, gradOut, gradCodebooks, gradGates);
        long n = indices.size(0);
        int m = indices.size(1), d = codebooks.size(1), dc = codebooks.size(2);
        if (n == 0 || m == 0) return;
        if (dc % 4 == 0 && codebooks.offset() % 4 == 0 && gradOut.offset() % 4 == 0 && gradCodebooks.offset() % 4 == 0) {
            int log = groupLanesLog2(dc / 4);
            cuda.kernel("quantize", "codeword_sum_backward_vec_f32")
                    .ptr(cuda.pointer(codebooks)).ptr(cuda.pointer(indices)).ptr(cuda.pointer(gates)).ptr(cuda.pointer(gradOut))
                    .ptr(cuda.pointer(gradCodebooks)).ptr(cuda.pointer(gradGates))
                    .i64(n).i32(m).i32(d).i32(dc).i32(log).ptr(cuda.deviceErrorReport())
                    .launch(cuda.stream(), blocksFor(cuda, n, (BLOCK / 32) * (32L >> log)), BLOCK);
            return;
        }
        cuda.kernel("quantize", "codeword_sum_backward_f32")
                .ptr(cuda.pointer(codebooks)).ptr(cuda.pointer(indices)).ptr(cuda.pointer(gates)).ptr(cuda.pointer(gradOut))
                .ptr(cuda.pointer(gradCodebooks)).ptr(cuda.pointer(gradGates))
                .i64(n).i32(m).i32(d).i32(dc).ptr(cuda.deviceErrorReport())
                .launch(cuda.stream(), blocksFor(cuda, n, BLOCK / 32), BLOCK);
    }

    static void relaxedMatchCount(CudaBackend cuda, Tensor paths, Tensor items, Tensor counts) {
        QuantChecks.relaxedMatchCount(cuda.device(), paths, items, counts);
        long p = paths.size(0), n = items.size(0);
        int m = paths.size(1);
        if (p == 0 || n == 0) return;
        long itemBlocks = (n + BLOCK - 1) / BLOCK;
        // Enough path groups along y to fill the device; each block strides over the rest.
        long groups = (p + MATCH_PATHS - 1) / MATCH_PATHS;
        long wantedY = Math.max(1, (long) cuda.multiprocessorCount() * 16 / itemBlocks);
        int gridY = (int) Math.min(Math.min(groups, wantedY), MAX_GRID_Y);
        cuda.kernel("quantize", "relaxed_match_count_i32")
                .ptr(cuda.pointer(paths)).ptr(cuda.pointer(items)).ptr(cuda.pointer(counts))
                .i64(p).i64(n).i32(m)
                .launch(cuda.stream(), itemBlocks, gridY, BLOCK, 1, 0);
    }
}
