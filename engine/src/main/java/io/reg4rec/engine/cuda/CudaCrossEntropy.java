package io.reg4rec.engine.cuda;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Tensor;

/**
 * Launches the fused cross-entropy kernels of cross_entropy.cu: one launch forward (per-row loss
 * and log-sum-exp), one backward (the logits' gradient). Out-of-range targets are reported by the
 * device and thrown at the next synchronisation.
 */
final class CudaCrossEntropy {
    private CudaCrossEntropy() {}

    static void forward(CudaBackend cuda, Tensor logits, Tensor targets, long ignoreIndex, double smoothing, Tensor losses, Tensor logSumExp) {
        FusedOps.checkCrossEntropy("crossEntropy on " + cuda.device(), logits, targets, smoothing, losses, logSumExp);
        String fn = "cross_entropy_forward_" + suffix(logits, "crossEntropy") + "_" + indexSuffix(targets);
        long rows = logits.size(0), classes = logits.size(1);
        if (rows == 0) return;
        cuda.kernel("cross_entropy", fn)
                .ptr(cuda.pointer(logits)).ptr(cuda.pointer(targets)).ptr(cuda.pointer(losses)).ptr(cuda.pointer(logSumExp))
                .i64(rows).i64(classes).i64(ignoreIndex).f32((float) smoothing).ptr(cuda.deviceErrorReport())
                .launch(cuda.stream(), grid(cuda, rows), threads(classes));
    }

    static void backward(CudaBackend cuda, Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses, long ignoreIndex,
                         double smoothing, Tensor gradLogits) {
        FusedOps.checkCrossEntropyBackward("crossEntropyBackward on " + cuda.device(), logits, targets, logSumExp, gradLosses, smoothing, gradLogits);
        String fn = "cross_entropy_backward_" + suffix(logits, "crossEntropyBackward") + "_" + indexSuffix(targets);
        long rows = logits.size(0), classes = logits.size(1);
        if (rows == 0) return;
        cuda.kernel("cross_entropy", fn)
                .ptr(cuda.pointer(logits)).ptr(cuda.pointer(targets)).ptr(cuda.pointer(logSumExp)).ptr(cuda.pointer(gradLosses))
                .ptr(cuda.pointer(gradLogits)).i64(rows).i64(classes).i64(ignoreIndex).f32((float) smoothing).ptr(cuda.deviceErrorReport())
                .launch(cuda.stream(), grid(cuda, rows), threads(classes));
    }

    /** One block per row: 128 threads for short rows, 256 up to 4096 classes, 512 beyond. */
    static int threads(long classes) {
        return classes <= 512 ? 128 : classes <= 4096 ? 256 : 512;
    }

    private static long grid(CudaBackend cuda, long rows) {
        return Math.max(1, Math.min(rows, (long) cuda.multiprocessorCount() * 64));
    }

    private static String suffix(Tensor x, String op) {
        return switch (x.dtype()) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            default -> throw new UnsupportedOperationException(op + " on CUDA: logits must be F32 or BF16, got " + x.describe()
                    + (x.dtype() == DType.F64 ? " (F64 exists for the CPU reference)" : ""));
        };
    }

    private static String indexSuffix(Tensor targets) {
        return targets.dtype() == DType.I32 ? "i32" : "i64";
    }
}
