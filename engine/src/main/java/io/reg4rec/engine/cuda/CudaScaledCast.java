package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.QuantChecks;
import io.reg4rec.engine.Tensor;

import static jcuda.driver.JCudaDriver.cuMemsetD32Async;

/**
 * Launches scaled_cast.cu: amax and the scaled fp32 <-> fp8 / bf16 casts, after checking the
 * arguments. The vectorised path (quads of 4 elements per word for casts, 16-byte words for
 * amax, 4 words per thread iteration) is taken when every buffer starts at a multiple of its
 * word; otherwise one element per thread.
 */
final class CudaScaledCast {
    private static final int BLOCK = 256;
    /** Words a thread handles per loop iteration (CAST_UNROLL in scaled_cast.cu). */
    private static final int UNROLL = 4;

    private CudaScaledCast() {}

    private static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F8E4M3 -> "e4m3";
            case F8E5M2 -> "e5m2";
            default -> throw new IllegalArgumentException("no scaled-cast kernel for " + t);
        };
    }

    static void amax(CudaBackend cuda, Tensor x, Tensor out) {
        QuantChecks.amax(cuda.device(), false, x, out);
        cuda.makeCurrent();
        CudaBackend.check(cuMemsetD32Async(cuda.pointer(out), 0, 1, cuda.stream()), "cuMemsetD32Async");
        long n = x.numel();
        if (n == 0) return;
        long perPack = 16 / x.dtype().byteSize();
        boolean vec = x.offset() % perPack == 0;
        cuda.kernel("scaled_cast", "amax_" + suffix(x.dtype()))
                .ptr(cuda.pointer(x)).ptr(cuda.pointer(out)).i64(n).i32(vec ? 1 : 0)
                .launch(cuda.stream(), CudaQuantization.blocksFor(cuda, n, BLOCK * perPack * UNROLL), BLOCK);
    }

    static void castScaled(CudaBackend cuda, Tensor src, Tensor dst, Tensor scale) {
        QuantChecks.castScaled(cuda.device(), src, dst, scale);
        long n = src.numel();
        if (n == 0) return;
        boolean vec = src.offset() % 4 == 0 && dst.offset() % 4 == 0;
        String name = "cast_scaled_" + suffix(src.dtype()) + "_" + suffix(dst.dtype());
        cuda.kernel("scaled_cast", name)
                .ptr(cuda.pointer(src)).ptr(cuda.pointer(dst)).ptr(cuda.pointer(scale)).i64(n).i32(vec ? 1 : 0)
                .launch(cuda.stream(), CudaQuantization.blocksFor(cuda, n, BLOCK * 4L * UNROLL), BLOCK);
    }
}
