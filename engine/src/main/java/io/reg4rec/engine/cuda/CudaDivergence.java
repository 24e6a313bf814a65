package io.reg4rec.engine.cuda;

import io.reg4rec.engine.QuantChecks;
import io.reg4rec.engine.Tensor;

/**
 * Launches divergence.cu (row-wise Jensen-Shannon and KL divergence, JS backward) after
 * checking the arguments. Short rows share a warp (a group of 1..32 lanes per row), long rows
 * of a short table get a block each; rows whose length is a multiple of 4 and whose tensors
 * start 16-byte aligned use float4 loads.
 */
final class CudaDivergence {
    private static final int BLOCK = 256;
    private static final int MODE_JS = 0, MODE_KL = 1;
    /** Row sets a warp of the row kernels handles per loop iteration (two in divergence.cu). */
    private static final int ROW_SETS = 2;
    /** Rows at least this long go one block per row when there are too few rows to fill the device with warps. */
    private static final long BLOCK_ROW_MIN_COLS = 8192;

    private CudaDivergence() {}

    static void jsDivergence(CudaBackend cuda, Tensor p, Tensor q, Tensor out) {
        QuantChecks.divergence("jsDivergence", cuda.device(), false, p, q, out);
        forward(cuda, MODE_JS, p, q, out);
    }

    static void klDivergence(CudaBackend cuda, Tensor p, Tensor q, Tensor out) {
        QuantChecks.divergence("klDivergence", cuda.device(), false, p, q, out);
        forward(cuda, MODE_KL, p, q, out);
    }

    private static boolean vectorizable(long cols, Tensor... ts) {
        if (cols % 4 != 0) return false;
        for (Tensor t : ts) if (t.offset() % 4 != 0) return false;
        return true;
    }

    /** log2 of the lanes per row: the next power of two of the row's load units, at most 32. */
    private static int lanesLog2(long units) {
        int log = 0;
        while (log < 5 && (1L << log) < units) log++;
        return log;
    }

    private static void forward(CudaBackend cuda, int mode, Tensor p, Tensor q, Tensor out) {
        long rows = p.size(0), cols = p.size(1);
        if (rows == 0) return;
        if (cols == 0) {
            cuda.fill(out, 0.0);
            return;
        }
        boolean vec = vectorizable(cols, p, q);
        int sms = cuda.multiprocessorCount();
        if (cols >= BLOCK_ROW_MIN_COLS && rows < (long) sms * 16) {
            cuda.kernel("divergence", "divergence_block_f32")
                    .ptr(cuda.pointer(p)).ptr(cuda.pointer(q)).ptr(cuda.pointer(out)).i64(rows).i64(cols).i32(vec ? 1 : 0).i32(mode)
                    .launch(cuda.stream(), Math.min(rows, (long) sms * 32), BLOCK);
            return;
        }
        int log = lanesLog2(vec ? cols / 4 : cols);
        long rowsPerBlock = ROW_SETS * (BLOCK / 32) * (32L >> log);
        cuda.kernel("divergence", "divergence_rows_f32")
                .ptr(cuda.pointer(p)).ptr(cuda.pointer(q)).ptr(cuda.pointer(out)).i64(rows).i64(cols).i32(log).i32(vec ? 1 : 0).i32(mode)
                .launch(cuda.stream(), CudaQuantization.blocksFor(cuda, rows, rowsPerBlock), BLOCK);
    }

    static void jsDivergenceBackward(CudaBackend cuda, Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ) {
        QuantChecks.jsDivergenceBackward(cuda.device(), false, p, q, gradOut, gradP, gradQ);
        long rows = p.size(0), cols = p.size(1);
        if (rows == 0 || cols == 0) return;
        boolean vec = vectorizable(cols, p, q, gradP, gradQ);
        int log = lanesLog2(vec ? cols / 4 : cols);
        long rowsPerBlock = ROW_SETS * (BLOCK / 32) * (32L >> log);
        cuda.kernel("divergence", "js_backward_rows_f32")
                .ptr(cuda.pointer(p)).ptr(cuda.pointer(q)).ptr(cuda.pointer(gradOut)).ptr(cuda.pointer(gradP)).ptr(cuda.pointer(gradQ))
                .i64(rows).i64(cols).i32(log).i32(vec ? 1 : 0)
                .launch(cuda.stream(), CudaQuantization.blocksFor(cuda, rows, rowsPerBlock), BLOCK);
    }
}
