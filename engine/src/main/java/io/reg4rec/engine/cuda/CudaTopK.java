package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.TopKChecks;
import jcuda.driver.CUfunction;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;

/**
 * Launches topk.cu ({@link io.reg4rec.engine.Backend#topk}): one block per row. The row's order
 * keys are cached in shared memory when they fit in {@link #CACHE_BYTES} (n up to about 24,000),
 * so the radix passes and the gather read them there; longer rows are re-read from global memory
 * on each pass. Blocks grow with n (256, 512, 1024 threads) so long rows keep every lane busy.
 */
final class CudaTopK {
    /** Dynamic shared memory of one block at most: below the 99 KiB opt-in limit of sm_86 / sm_89 and far below sm_80 / sm_90's. */
    static final int CACHE_BYTES = 96 * 1024;
    /** Functions whose dynamic shared-memory limit was raised to {@link #CACHE_BYTES} (once per loaded function). */
    private static final Set<CUfunction> RAISED = ConcurrentHashMap.newKeySet();

    private CudaTopK() {}

    static void apply(CudaBackend cuda, Tensor x, int k, Tensor values, Tensor indices) {
        TopKChecks.check("topk on " + cuda.device(), cuda.device(), false, x, k, values, indices);
        int rows = x.size(0), n = x.size(1);
        if (rows == 0) return;
        String name = switch (x.dtype()) {
            case F32 -> "topk_f32";
            case BF16 -> "topk_bf16";
            default -> throw new AssertionError(x.dtype());
        };
        int sortSize = sortSize(k);
        long sortBytes = 2L * sortSize * Integer.BYTES;
        boolean cached = sortBytes + (long) n * Integer.BYTES <= CACHE_BYTES;
        int sharedBytes = (int) (sortBytes + (cached ? (long) n * Integer.BYTES : 0));
        // Raised for every launch size: the kernel's static shared memory (histogram, scan) counts
        // against the 48 KiB default too, so a dynamic size just under 48 KiB already needs it.
        CUfunction f = cuda.function("topk", name);
        if (!RAISED.contains(f)) {
            CudaBackend.check(cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, CACHE_BYTES),
                    "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES, " + CACHE_BYTES + ")");
            RAISED.add(f);
        }
        cuda.kernel("topk", name)
                .ptr(cuda.pointer(x)).ptr(cuda.pointer(values)).ptr(cuda.pointer(indices))
                .i64(rows).i32(n).i32(k).i32(sortSize).i32(cached ? 1 : 0)
                .launch(cuda.stream(), rows, 1, threadsFor(n), 1, sharedBytes);
    }

    /** The bitonic network's size: the next power of two at or above k. */
    static int sortSize(int k) {
        return Integer.highestOneBit(k) == k ? k : Integer.highestOneBit(k) << 1;
    }

    /** Threads per block (the kernel needs at least 256, one per histogram bin, and at most 1024). */
    static int threadsFor(int n) {
        return n <= 4096 ? 256 : n <= 16384 ? 512 : 1024;
    }
}
