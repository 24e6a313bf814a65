package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * Launches the fused layer-norm kernels of layernorm.cu: one launch for the forward pass, one for
 * the input gradient and, when parameter gradients are asked for, two more (fp32 column partials
 * per chunk of rows, then a fixed-order sum over the chunks: no float atomics).
 */
final class CudaLayerNorm {
    /** Rows up to this many columns get one warp each (8 rows per block). */
    private static final int WARP_ROW_MAX_COLS = 1024;
    private static final int ROWS_PER_WARP_BLOCK = 8;
    /** Threads per block of the column-partial and column-reduce kernels. */
    private static final int COLUMN_BLOCK = 128;
    /** Blocks the column-partial kernel aims for; fewer rows than MIN_ROWS_PER_CHUNK per chunk are not split further. */
    private static final long PARTIAL_BLOCKS = 2048;
    private static final long MIN_ROWS_PER_CHUNK = 16;

    private CudaLayerNorm() {}

    static void forward(CudaBackend cuda, Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd) {
        FusedOps.checkLayerNorm("layerNorm on " + cuda.device(), x, gamma, beta, eps, out, mean, rstd);
        String dt = suffix(x, "layerNorm");
        long rows = x.size(0), cols = x.size(1);
        if (rows == 0) return;
        int[] block = rowBlock(cols);
        CUdeviceptr g = gamma == null ? cuda.pointer(x) : cuda.pointer(gamma);   // any valid address when absent (not read)
        CUdeviceptr b = beta == null ? cuda.pointer(x) : cuda.pointer(beta);
        cuda.kernel("layernorm", "layer_norm_forward_" + dt)
                .ptr(cuda.pointer(x)).ptr(g).ptr(b).ptr(cuda.pointer(out)).ptr(cuda.pointer(mean)).ptr(cuda.pointer(rstd))
                .i64(rows).i64(cols).f32((float) eps).i32(gamma == null ? 0 : 1).i32(beta == null ? 0 : 1)
                .launch(cuda.stream(), rowGrid(cuda, rows, block[1]), 1, block[0], block[1], 0);
    }

    static void backward(CudaBackend cuda, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut,
                         Tensor gradX, Tensor gradGamma, Tensor gradBeta) {
        FusedOps.checkLayerNormBackward("layerNormBackward on " + cuda.device(), x, gamma, mean, rstd, gradOut, gradX, gradGamma, gradBeta);
        String dt = suffix(x, "layerNormBackward");
        long rows = x.size(0), cols = x.size(1);
        if (rows == 0) {
            if (gradGamma != null) cuda.fill(gradGamma, 0);
            if (gradBeta != null) cuda.fill(gradBeta, 0);
            return;
        }
        int[] block = rowBlock(cols);
        CUdeviceptr g = gamma == null ? cuda.pointer(x) : cuda.pointer(gamma);
        cuda.kernel("layernorm", "layer_norm_backward_dx_" + dt)
                .ptr(cuda.pointer(x)).ptr(g).ptr(cuda.pointer(mean)).ptr(cuda.pointer(rstd)).ptr(cuda.pointer(gradOut)).ptr(cuda.pointer(gradX))
                .i64(rows).i64(cols).i32(gamma == null ? 0 : 1)
                .launch(cuda.stream(), rowGrid(cuda, rows, block[1]), 1, block[0], block[1], 0);
        if (gradGamma == null && gradBeta == null) return;

        long columnBlocks = (cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
        long[] chunking = chunking(rows, columnBlocks);
        long rowsPerChunk = chunking[0], chunks = chunking[1];
        CachingAllocator.Block partialGamma = cuda.allocator().allocate(chunks * cols * Float.BYTES);
        CachingAllocator.Block partialBeta = cuda.allocator().allocate(chunks * cols * Float.BYTES);
        try {
            cuda.kernel("layernorm", "layer_norm_param_partials_" + dt)
                    .ptr(cuda.pointer(x)).ptr(cuda.pointer(mean)).ptr(cuda.pointer(rstd)).ptr(cuda.pointer(gradOut))
                    .ptr(partialGamma.pointer()).ptr(partialBeta.pointer()).i64(rows).i64(cols).i64(rowsPerChunk)
                    .launch(cuda.stream(), columnBlocks, (int) chunks, COLUMN_BLOCK, 1, 0);
            Tensor anyParam = gradGamma != null ? gradGamma : gradBeta;
            cuda.kernel("layernorm", "layer_norm_param_reduce_" + dt)
                    .ptr(partialGamma.pointer()).ptr(partialBeta.pointer())
                    .ptr(cuda.pointer(gradGamma != null ? gradGamma : anyParam)).ptr(cuda.pointer(gradBeta != null ? gradBeta : anyParam))
                    .i64(chunks).i64(cols).i32(gradGamma != null ? 1 : 0).i32(gradBeta != null ? 1 : 0)
                    .launch(cuda.stream(), Math.min(columnBlocks, (long) cuda.multiprocessorCount() * 32), COLUMN_BLOCK);
        } finally {
            // later work on the stream runs after both kernels, so the blocks may be reused at once
            cuda.allocator().release(partialGamma);
            cuda.allocator().release(partialBeta);
        }
    }

    /**
     * {rowsPerChunk, chunks} for the column partials: enough chunks that about PARTIAL_BLOCKS
     * blocks have work, at least MIN_ROWS_PER_CHUNK rows each, at most 65535 (the grid's y limit).
     * Depends only on the shape, so every device sums in the same order.
     */
    static long[] chunking(long rows, long columnBlocks) {
        long wanted = Math.max(1, PARTIAL_BLOCKS / columnBlocks);
        long chunks = Math.max(1, Math.min(wanted, (rows + MIN_ROWS_PER_CHUNK - 1) / MIN_ROWS_PER_CHUNK));
        chunks = Math.min(chunks, 65535);
        long rowsPerChunk = (rows + chunks - 1) / chunks;
        return new long[]{rowsPerChunk, (rows + rowsPerChunk - 1) / rowsPerChunk};
    }

    /** {threads per row, rows per block}: a warp per row for short rows, else 64..1024 threads on one row. */
    static int[] rowBlock(long cols) {
        if (cols <= WARP_ROW_MAX_COLS) return new int[]{32, ROWS_PER_WARP_BLOCK};
        int threads = 64;
        while (threads < 1024 && threads * 8L < cols) threads <<= 1;   // about 8 columns per thread
        return new int[]{threads, 1};
    }

    private static long rowGrid(CudaBackend cuda, long rows, int rowsPerBlock) {
        long groups = (rows + rowsPerBlock - 1) / rowsPerBlock;
        return Math.max(1, Math.min(groups, (long) cuda.multiprocessorCount() * 64));
    }

    private static String suffix(Tensor x, String op) {
        return switch (x.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new UnsupportedOperationException(op + " on CUDA: supports F32 and BF16, got " + x.describe()
                    + (x.dtype() == DType.F64 ? " (F64 exists for the CPU reference)" : ""));
        };
    }
}
