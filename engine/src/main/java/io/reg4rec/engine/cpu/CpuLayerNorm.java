package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Tensor;

/**
 * CPU reference of the fused layer norm ({@link io.reg4rec.engine.Backend#layerNormForward} and
 * backward), the numbers the CUDA kernels (layernorm.cu) are tested against. Row statistics are
 * computed in double (mean first, then the mean of squared deviations) and rounded to the
 * statistics' dtype; outputs and gradients use the rounded statistics, compute in double and round
 * once to the output dtype. Rows run in parallel; the parameter gradients sum over rows in row
 * order per column (columns in parallel), so results never depend on the thread count.
 */
final class CpuLayerNorm {
    /** Elements of work per thread below which a call stays on the caller's thread. */
    private static final long GRAIN = 1L << 15;

    private CpuLayerNorm() {}

    static void forward(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor out, Tensor mean, Tensor rstd) {
        View vx = View.of(x), vo = View.of(out), vm = View.of(mean), vr = View.of(rstd);
        int rows = x.size(0), cols = x.size(1);
        double[] g = gamma == null ? null : load(View.of(gamma), cols);
        double[] b = beta == null ? null : load(View.of(beta), cols);
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / cols), (start, end) -> {
            double[] row = new double[cols];
            int[] idx = new int[cols];
            double[] stat = new double[1];
            for (long r = start; r < end; r++) {
                vx.loadDouble(r * cols, cols, row, idx);
                double sum = 0;
                for (int j = 0; j < cols; j++) sum += row[j];
                double mu = sum / cols;
                double sq = 0;
                for (int j = 0; j < cols; j++) {
                    double d = row[j] - mu;
                    sq += d * d;
                }
                double inv = 1.0 / Math.sqrt(sq / cols + eps);
                stat[0] = mu;
                View.roundThroughFloat(vm.dtype, stat, 1);
                vm.storeDouble(r, 1, stat);
                mu = stat[0];
                stat[0] = inv;
                View.roundThroughFloat(vr.dtype, stat, 1);
                vr.storeDouble(r, 1, stat);
                inv = stat[0];
                for (int j = 0; j < cols; j++) {
                    double y = (row[j] - mu) * inv;
                    if (g != null) y *= g[j];
                    if (b != null) y += b[j];
                    row[j] = y;
                }
                View.roundThroughFloat(vo.dtype, row, cols);
                vo.storeDouble(r * cols, cols, row);
            }
        });
    }

    static void backward(Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor gradOut, Tensor gradX, Tensor gradGamma, Tensor gradBeta) {
        View vx = View.of(x), vg = View.of(gradOut), vgx = View.of(gradX);
        int rows = x.size(0), cols = x.size(1);
        double[] g = gamma == null ? null : load(View.of(gamma), cols);
        double[] mu = load(View.of(mean), rows), inv = load(View.of(rstd), rows);
        CpuPool.parallelFor(rows, Math.max(1, GRAIN / cols), (start, end) -> {
            double[] row = new double[cols], dy = new double[cols];
            int[] idx = new int[cols];
            for (long r = start; r < end; r++) {
                vx.loadDouble(r * cols, cols, row, idx);
                vg.loadDouble(r * cols, cols, dy, idx);
                double m = mu[(int) r], s = inv[(int) r];
                double sumDy = 0, sumDyXhat = 0;
                for (int j = 0; j < cols; j++) {
                    double xhat = (row[j] - m) * s;
                    double d = g == null ? dy[j] : dy[j] * g[j];
                    row[j] = xhat;
                    dy[j] = d;
                    sumDy += d;
                    sumDyXhat += d * xhat;
                }
                double meanDy = sumDy / cols, meanDyXhat = sumDyXhat / cols;
                for (int j = 0; j < cols; j++) row[j] = s * (dy[j] - meanDy - row[j] * meanDyXhat);
                View.roundThroughFloat(vgx.dtype, row, cols);
                vgx.storeDouble(r * cols, cols, row);
            }
        });
        if (gradGamma == null && gradBeta == null) return;
        View vgg = gradGamma == null ? null : View.of(gradGamma), vgb = gradBeta == null ? null : View.of(gradBeta);
        // Columns in parallel, rows in order within each column: a fixed summation order.
        CpuPool.parallelFor(cols, Math.max(1, GRAIN / Math.max(1, rows)), (start, end) -> {
            int n = (int) (end - start);
            double[] sumGamma = new double[n], sumBeta = new double[n], xs = new double[n], dys = new double[n];
            int[] idx = new int[n];
            for (int r = 0; r < rows; r++) {
                vx.loadDouble((long) r * cols + start, n, xs, idx);
                vg.loadDouble((long) r * cols + start, n, dys, idx);
                double m = mu[r], s = inv[r];
                for (int j = 0; j < n; j++) {
                    sumGamma[j] += dys[j] * ((xs[j] - m) * s);
                    sumBeta[j] += dys[j];
                }
            }
            if (vgg != null) {
                View.roundThroughFloat(vgg.dtype, sumGamma, n);
                vgg.storeDouble(start, n, sumGamma);
            }
            if (vgb != null) {
                View.roundThroughFloat(vgb.dtype, sumBeta, n);
                vgb.storeDouble(start, n, sumBeta);
            }
        });
    }

    /** The first n elements of a contiguous view as doubles. */
    static double[] load(View v, int n) {
        double[] out = new double[n];
        v.loadDouble(0, n, out, new int[n]);
        return out;
    }
}
