package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/**
 * CPU reference of the fused softmax cross-entropy ({@link io.reg4rec.engine.Backend#crossEntropyForward}
 * and backward), the numbers the CUDA kernels (cross_entropy.cu) are tested against. Each row is
 * computed in double: max, sum of exponentials, lse = max + log(sum), and the sum of the logits for
 * label smoothing; results round once to the output dtype. Rows run in parallel and independently.
 */
final class CpuCrossEntropy {
    private static final long GRAIN = 1L << 15;

    private CpuCrossEntropy() {}

    static void forward(Tensor logits, Tensor targets, long ignoreIndex, double smoothing, Tensor losses, Tensor logSumExp) {
        View vx = View.of(logits), vt = View.of(targets), vl = View.of(losses), vs = View.of(logSumExp);
        int rows = logits.size(0), classes = logits.size(1);
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / classes), (start, end) -> {
            double[] row = new double[classes];
            int[] idx = new int[classes];
            double[] one = new double[1];
            for (long r = start; r < end; r++) {
                vx.loadDouble(r * classes, classes, row, idx);
                double max = Double.NEGATIVE_INFINITY, sumX = 0;
                for (int j = 0; j < classes; j++) {
                    max = Math.max(max, row[j]);
                    sumX += row[j];
                }
                double sum = 0;
                for (int j = 0; j < classes; j++) sum += Math.exp(row[j] - max);
                double lse = max + Math.log(sum);
                long t = target(vt, r, idx);
                double loss = 0;
                if (t != ignoreIndex) {
                    checkTarget(t, r, classes);
                    loss = (1 - smoothing) * (lse - row[(int) t]);
                    // Only with smoothing: the mean over all logits may be -inf for masked classes.
                    if (smoothing > 0) loss += smoothing * (lse - sumX / classes);
                }
                one[0] = loss;
                View.roundThroughFloat(vl.dtype, one, 1);
                vl.storeDouble(r, 1, one);
                one[0] = lse;
                View.roundThroughFloat(vs.dtype, one, 1);
                vs.storeDouble(r, 1, one);
            }
        });
    }

    static void backward(Tensor logits, Tensor targets, Tensor logSumExp, Tensor gradLosses, long ignoreIndex, double smoothing, Tensor gradLogits) {
        View vx = View.of(logits), vt = View.of(targets), vg = View.of(gradLosses), vo = View.of(gradLogits);
        int rows = logits.size(0), classes = logits.size(1);
        double[] lse = CpuLayerNorm.load(View.of(logSumExp), rows), gl = CpuLayerNorm.load(vg, rows);
        double uniform = smoothing / classes;
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / classes), (start, end) -> {
            double[] row = new double[classes];
            int[] idx = new int[classes];
            for (long r = start; r < end; r++) {
                long t = target(vt, r, idx);
                if (t == ignoreIndex) {
                    Arrays.fill(row, 0.0);
                } else {
                    checkTarget(t, r, classes);
                    vx.loadDouble(r * classes, classes, row, idx);
                    double g = gl[(int) r], s = lse[(int) r];
                    for (int j = 0; j < classes; j++) row[j] = g * (Math.exp(row[j] - s) - uniform);
                    row[(int) t] -= g * (1 - smoothing);
                }
                View.roundThroughFloat(vo.dtype, row, classes);
                vo.storeDouble(r * classes, classes, row);
            }
        });
    }

    private static long target(View vt, long r, int[] scratch) {
        vt.offsets(r, 1, scratch);
        return vt.indexAt(scratch[0]);
    }

    private static void checkTarget(long t, long row, int classes) {
        if (t < 0 || t >= classes) {
            throw new IndexOutOfBoundsException("crossEntropy: target " + t + " of row " + row + " is out of range [0, " + classes
                    + ") and is not the ignore index");
        }
    }
}
