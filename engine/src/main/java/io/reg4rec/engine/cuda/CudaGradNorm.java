package io.reg4rec.engine.cuda;

import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Tensor;
import jcuda.Pointer;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;

/**
 * Launches grad_norm.cu ({@link io.reg4rec.engine.Backend#sumOfSquaresSegments}): one scratch
 * block holds the segment table (address, start per non-empty segment), the kernel's
 * blocks-done counter (a zero appended to the table, so one host-to-device copy sets both) and
 * one fp32 partial per block; one kernel then writes the sum. More than {@link #MAX_SEGMENTS}
 * segments take one launch per group of that many, each adding onto out in launch order, so the
 * result stays deterministic. No non-empty segment: out is zeroed by a memset.
 */
final class CudaGradNorm {
    private static final int BLOCK = 256;   // GRAD_NORM_BLOCK in grad_norm.cu
    /** Segment starts the kernel keeps in shared memory: 32 KiB. */
    static final int MAX_SEGMENTS = 4096;
    /** Blocks per multiprocessor at most: enough to fill the device, few partials for the last block. */
    private static final int BLOCKS_PER_SM = 8;

    private CudaGradNorm() {}

    static void sumOfSquaresSegments(CudaBackend backend, Tensor[] xs, Tensor out) {
        GradNorm.checkSumOfSquares(backend.device(), xs, out);
        backend.makeCurrent();
        boolean written = false;
        int s = 0;
        while (s < xs.length) {
            long[] table = new long[2 * Math.min(MAX_SEGMENTS, xs.length - s) + 1];   // the last long is the zeroed counter
            int count = 0;
            long n = 0;
            for (; s < xs.length && count < MAX_SEGMENTS; s++) {
                long size = xs[s].numel();
                if (size == 0) continue;
                table[2 * count] = DeviceAddress.of(backend.pointer(xs[s]));
                table[2 * count + 1] = n;
                count++;
                n += size;
            }
            if (count == 0) continue;
            long blocks = Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, (long) backend.multiprocessorCount() * BLOCKS_PER_SM));
            long tableBytes = (2L * count + 1) * Long.BYTES;
            CachingAllocator.Block scratch = backend.allocator().allocate(tableBytes + blocks * Float.BYTES);
            try {
                // the counter sits right after the used rows: copy those rows and one zero
                table[2 * count] = 0;
                CudaBackend.check(cuMemcpyHtoDAsync(scratch.pointer(), Pointer.to(table), tableBytes, backend.stream()), "cuMemcpyHtoDAsync");
                LaunchStats.record("memcpyHtoD");
                backend.kernel("grad_norm", "sum_of_squares_segments_f32")
                        .ptr(scratch.pointer()).i32(count).i64(n)
                        .ptr(scratch.pointer().withByteOffset(2L * count * Long.BYTES))
                        .ptr(scratch.pointer().withByteOffset(tableBytes))
                        .ptr(backend.pointer(out)).i32(written ? 1 : 0)
                        .launch(backend.stream(), blocks, 1, BLOCK, 1, count * Long.BYTES);
                written = true;
            } finally {
                // later work on this stream runs after the kernel, so the scratch may be reused at once
                backend.allocator().release(scratch);
            }
        }
        if (!written) {
            CudaBackend.check(cuMemsetD32Async(backend.pointer(out), 0, 1, backend.stream()), "cuMemsetD32Async");
        }
    }
}
