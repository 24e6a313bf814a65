package io.reg4rec.engine.cpu;

import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Tensor;

/**
 * CPU reference of the gradient-norm ops: the sum of squares of many tensors (in double, in
 * tensor and element order, rounded once to fp32) and the clipped segmented AdamW step (the clip
 * factor in fp32 as {@link GradNorm#clipScale}, each gradient element times it rounded to fp32,
 * then {@link CpuBackend#adamwStepSegments} on those scaled copies, so the gradients stay as they are).
 */
final class CpuGradNorm {
    private CpuGradNorm() {}

    static void sumOfSquaresSegments(Tensor[] xs, Tensor out) {
        GradNorm.checkSumOfSquares(Device.CPU, xs, out);
        double sum = 0;
        for (Tensor x : xs) {
            View xv = View.of(x);
            float[] a = (float[]) xv.array;
            int from = (int) xv.offset, to = (int) (xv.offset + x.numel());
            for (int i = from; i < to; i++) sum += (double) a[i] * a[i];
        }
        View o = View.of(out);
        ((float[]) o.array)[(int) o.offset] = (float) sum;
    }

    static void adamwStepSegmentsClipped(CpuBackend backend, Tensor[] params, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper,
                                         Tensor sumOfSquares, double maxNorm) {
        GradNorm.checkClipped(Device.CPU, params, grads, m, v, sumOfSquares, maxNorm);
        View sv = View.of(sumOfSquares);
        float scale = GradNorm.clipScale(((float[]) sv.array)[(int) sv.offset], maxNorm);
        Tensor[] scaled = new Tensor[grads.length];
        try {
            for (int s = 0; s < grads.length; s++) {
                View gv = View.of(grads[s]);
                float[] g = (float[]) gv.array;
                float[] c = new float[(int) grads[s].numel()];
                for (int i = 0; i < c.length; i++) c[i] = g[(int) gv.offset + i] * scale;
                scaled[s] = Tensor.of(Device.CPU, c, c.length);
            }
            backend.adamwStepSegments(params, scaled, m, v, hyper);
        } finally {
            for (Tensor t : scaled) if (t != null) t.close();
        }
    }
}
