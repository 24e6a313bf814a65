package io.reg4rec.engine.cuda;

import io.reg4rec.engine.QuantChecks;
import io.reg4rec.engine.Tensor;

/**
 * Launches the MPQ kernels of quantize.cu (nearest codeword, gated codeword sum and its
 * backward, relaxed match count) after checking every argument ({@link QuantChecks}) and the
 * launch limits. fp32 only.
 */
final class CudaQuantization {
    private static final int BLOCK = 256;
    /** Items per nearest_codeword block (NC_TM in quantize.cu). */
    private static final int NEAREST_TILE = 128;
    /** Paths staged per relaxed_match_count block iteration (MATCH_PATHS in quantize.cu). */
    private static final int MATCH_PATHS = 32;
    private static final int MAX_GRID_Y = 65535;

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

    static void codewordSum(CudaBackend cuda, Tensor codebooks, Tensor indices, Tensor gates, Tensor out) {
        QuantChecks.codewordSum(cuda.device(), false, codebooks, indices, gates, out);
        long n = indices.size(0);
        int m = indices.size(1), d = codebooks.size(1), dc = codebooks.size(2);
        if (n == 0 || dc == 0) return;
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
