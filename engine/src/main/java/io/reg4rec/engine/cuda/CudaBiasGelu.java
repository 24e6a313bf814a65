package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Tensor;
import jcuda.driver.CUdeviceptr;

/** Launches bias_gelu.cu ({@link io.reg4rec.engine.Backend#biasGelu} and its backward): F32 or BF16, contiguous operands. */
final class CudaBiasGelu {
    private static final int BLOCK = 256;

    private CudaBiasGelu() {}

    static void apply(CudaBackend backend, Tensor x, Tensor bias, Tensor gradOut, Tensor out) {
        String dt = switch (out.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("biasGelu on CUDA: needs F32 or BF16, got " + out.describe());
        };
        for (Tensor t : new Tensor[]{x, bias, gradOut, out}) {
            if (t != null && (!t.isContiguous() || t.dtype() != out.dtype())) {
                throw new IllegalArgumentException("biasGelu on CUDA: " + t.describe() + " must be contiguous " + out.dtype());
            }
        }
        long n = out.numel();
        if (n == 0) return;
        long cols = x.size(-1);
        long blocks = Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, (long) backend.multiprocessorCount() * 32));
        CUdeviceptr biasPointer = bias == null ? new CUdeviceptr() : backend.pointer(bias);
        if (gradOut == null) {
            backend.kernel("bias_gelu", "bias_gelu_" + dt)
                    .ptr(backend.pointer(x)).ptr(biasPointer).ptr(backend.pointer(out)).i64(n).i64(cols)
                    .launch(backend.stream(), blocks, BLOCK);
        } else {
            backend.kernel("bias_gelu", "bias_gelu_backward_" + dt)
                    .ptr(backend.pointer(x)).ptr(biasPointer).ptr(backend.pointer(gradOut)).ptr(backend.pointer(out)).i64(n).i64(cols)
                    .launch(backend.stream(), blocks, BLOCK);
        }
    }
}
