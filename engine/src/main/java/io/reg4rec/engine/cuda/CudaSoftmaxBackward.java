package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/** Launches softmax_backward.cu ({@link io.reg4rec.engine.Backend#softmaxBackward}): one warp per row. */
final class CudaSoftmaxBackward {
    private static final int BLOCK = 256, WARPS_PER_BLOCK = BLOCK / 32;

    private CudaSoftmaxBackward() {}

    static void apply(CudaBackend backend, Tensor y, Tensor g, boolean log, Tensor out) {
        String dt = switch (y.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("softmaxBackward on CUDA: needs F32 or BF16, got " + y.describe());
        };
        if (g.dtype() != y.dtype() || out.dtype() != y.dtype() || !Arrays.equals(g.shape(), y.shape()) || !Arrays.equals(out.shape(), y.shape())) {
            throw new IllegalArgumentException("softmaxBackward on CUDA: y " + y.describe() + ", gradient " + g.describe() + " and output "
                    + out.describe() + " must share shape and dtype");
        }
        if (!y.isContiguous() || !g.isContiguous() || !out.isContiguous() || y.rank() == 0) {
            throw new IllegalArgumentException("softmaxBackward on CUDA: y " + y.describe() + ", gradient and output must be contiguous, rank >= 1");
        }
        long n = y.numel();
        if (n == 0) return;
        long len = y.size(-1), rows = n / len;
        long blocks = Math.max(1, Math.min((rows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK, (long) backend.multiprocessorCount() * 32));
        backend.kernel("softmax_backward", "softmax_backward_" + dt)
                .ptr(backend.pointer(y)).ptr(backend.pointer(g)).ptr(backend.pointer(out)).i64(rows).i64(len).i32(log ? 1 : 0)
                .launch(backend.stream(), blocks, BLOCK);
    }
}
