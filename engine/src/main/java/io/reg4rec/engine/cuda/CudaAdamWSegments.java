package io.reg4rec.engine.cuda;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Tensor;
import jcuda.Pointer;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * Launches adamw_segments.cu ({@link io.reg4rec.engine.Backend#adamwStepSegments} and its clipped
 * form {@link io.reg4rec.engine.Backend#adamwStepSegmentsClipped}): the table of
 * (param address, grad address, start) per non-empty segment is copied to the device on the
 * stream (from a host array the driver stages before returning), then one kernel updates all
 * segments; more than {@link #MAX_SEGMENTS} segments take one launch per group of that many.
 */
final class CudaAdamWSegments {
    private static final int BLOCK = 256;
    /** Segment starts the kernel keeps in shared memory: 32 KiB. */
    static final int MAX_SEGMENTS = 4096;

    private CudaAdamWSegments() {}

    static void apply(CudaBackend backend, Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper) {
        launch(backend, params, grads, m, v, hyper, null, 0);
    }

    /**
     * The clipped step (adamw_segments_clipped_f32): the kernel reads the sum of squares from
     * the device scalar and scales each gradient element as it loads it; gradients stay unchanged.
     */
    static void applyClipped(CudaBackend backend, Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper,
                             Tensor sumOfSquares, double maxNorm) {
        GradNorm.checkClipped(backend.device(), params, grads, m, v, sumOfSquares, maxNorm);
        launch(backend, params, grads, m, v, hyper, sumOfSquares, maxNorm);
    }

    /** One launch per group of MAX_SEGMENTS segments; sumOfSquares null for the plain step. */
    private static void launch(CudaBackend backend, Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper,
                               Tensor sumOfSquares, double maxNorm) {
        float[] c = hyper.coefficients();
        long flatStart = 0;
        int s = 0;
        while (s < params.length) {
            long[] table = new long[3 * Math.min(MAX_SEGMENTS, params.length - s)];
            int count = 0;
            long chunkStart = flatStart, chunkEnd = flatStart;
            for (; s < params.length && count < MAX_SEGMENTS; s++) {
                long n = params[s].numel();
                if (n > 0) {
                    table[3 * count] = DeviceAddress.of(backend.pointer(params[s]));
                    table[3 * count + 1] = DeviceAddress.of(backend.pointer(grads[s]));
                    table[3 * count + 2] = chunkEnd - chunkStart;
                    count++;
                }
                chunkEnd += n;
            }
            flatStart = chunkEnd;
            long n = chunkEnd - chunkStart;
            if (count == 0) continue;
            backend.makeCurrent();
            CachingAllocator.Block block = backend.allocator().allocate((long) count * 3 * Long.BYTES);
            try {
                CudaBackend.check(cuMemcpyHtoDAsync(block.pointer(), Pointer.to(table), (long) count * 3 * Long.BYTES, backend.stream()),
                        "cuMemcpyHtoDAsync");
                LaunchStats.record("memcpyHtoD");
                long blocks = Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, (long) backend.multiprocessorCount() * 32));
                KernelLaunch k = backend.kernel("adamw_segments", sumOfSquares == null ? "adamw_segments_f32" : "adamw_segments_clipped_f32")
                        .ptr(block.pointer()).i32(count)
                        .ptr(backend.pointer(m).withByteOffset(chunkStart * Float.BYTES)).ptr(backend.pointer(v).withByteOffset(chunkStart * Float.BYTES))
                        .i64(n)
                        .f32(c[AdamWHyper.BETA1]).f32(c[AdamWHyper.ONE_MINUS_BETA1]).f32(c[AdamWHyper.BETA2]).f32(c[AdamWHyper.ONE_MINUS_BETA2])
                        .f32(c[AdamWHyper.CORRECTION2]).f32(c[AdamWHyper.EPS]).f32(c[AdamWHyper.STEP_SIZE]).f32(c[AdamWHyper.DECAY]);
                if (sumOfSquares != null) k.ptr(backend.pointer(sumOfSquares)).f32((float) maxNorm);
                k.launch(backend.stream(), blocks, 1, BLOCK, 1, count * Long.BYTES);
            } finally {
                // later work on this stream runs after the kernel, so the table's block may be reused at once
                backend.allocator().release(block);
            }
        }
    }
}
