package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedDropout;
import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/** Launches dropout.cu ({@link io.reg4rec.engine.Backend#dropout}): one grid-stride kernel, F32 or BF16. */
final class CudaDropout {
    private static final int BLOCK = 256;

    private CudaDropout() {}

    static void apply(CudaBackend backend, Tensor x, Tensor bias, Tensor residual, long seed, double p, Tensor out) {
        String dt = switch (out.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new IllegalArgumentException("dropout on CUDA: needs F32 or BF16, got " + out.describe());
        };
        if (x.dtype() != out.dtype() || !Arrays.equals(x.shape(), out.shape())) {
            throw new IllegalArgumentException("dropout on CUDA: input " + x.describe() + " and output " + out.describe() + " must match");
        }
        if (!x.isContiguous() || !out.isContiguous()) {
            throw new IllegalArgumentException("dropout on CUDA: input " + x.describe() + " and output must be contiguous");
        }
        if (residual != null && (residual.dtype() != out.dtype() || !Arrays.equals(residual.shape(), out.shape()) || !residual.isContiguous())) {
            throw new IllegalArgumentException("dropout on CUDA: residual " + residual.describe() + " must be contiguous and match " + out.describe());
        }
        long cols = out.rank() == 0 ? 1 : out.size(-1);
        if (bias != null && (bias.dtype() != out.dtype() || bias.numel() != cols || !bias.isContiguous())) {
            throw new IllegalArgumentException("dropout on CUDA: bias " + bias.describe() + " must be contiguous [" + cols + "] " + out.dtype());
        }
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout on CUDA: p must be in [0, 1), got " + p);
        long n = out.numel();
        if (n == 0) return;
        long blocks = Math.max(1, Math.min((n + BLOCK - 1) / BLOCK, (long) backend.multiprocessorCount() * 32));
        backend.kernel("dropout", "dropout_" + dt)
                .ptr(backend.pointer(x)).ptr(bias == null ? new jcuda.driver.CUdeviceptr() : backend.pointer(bias)).i64(cols)
                .ptr(residual == null ? new jcuda.driver.CUdeviceptr() : backend.pointer(residual)).ptr(backend.pointer(out)).i64(seed).f64(p).f32((float) FusedDropout.scale(DType.F32, p)).i64(n)
                .launch(backend.stream(), blocks, BLOCK);
    }
}
