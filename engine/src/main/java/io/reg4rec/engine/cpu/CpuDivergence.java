package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Tensor;

/**
 * CPU reference of the row divergences (PARS step consistency, CORP pruning): Jensen-Shannon and
 * Kullback-Leibler divergence of each row of [R, C] probability tables, natural log, in fp64,
 * rounded once on store. Rows are independent tasks; each row sums in column order.
 * <ul>
 *   <li>JS(p, q) = sum_c 0.5 p log(2p / (p + q)) + 0.5 q log(2q / (p + q)); a zero entry adds
 *       nothing (0 log 0 = 0).</li>
 *   <li>KL(p || q) = sum_c p log(p / q); p = 0 adds nothing, q = 0 < p gives +infinity.</li>
 *   <li>dJS/dp = 0.5 log(2p / (p + q)) (the other terms cancel), 0 where p = 0 (the derivative
 *       diverges there; the entry is treated as outside the support); likewise for q.</li>
 * </ul>
 */
final class CpuDivergence {
    private static final long GRAIN = 1L << 14;

    private CpuDivergence() {}

    /** One entry's share of JS: 0.5 a log(2a / (a + b)), 0 for a = 0. */
    static double jsTerm(double a, double b) {
        return a > 0 ? 0.5 * a * Math.log(2 * a / (a + b)) : 0.0;
    }

    static double klTerm(double a, double b) {
        if (!(a > 0)) return 0.0;
        return b > 0 ? a * Math.log(a / b) : Double.POSITIVE_INFINITY;
    }

    static double jsGradient(double a, double b) {
        return a > 0 ? 0.5 * Math.log(2 * a / (a + b)) : 0.0;
    }

    static void jsDivergence(Tensor p, Tensor q, Tensor out) { rows(p, q, out, false); }

    static void klDivergence(Tensor p, Tensor q, Tensor out) { rows(p, q, out, true); }

    private static void rows(Tensor p, Tensor q, Tensor out, boolean kl) {
        int r = p.size(0), c = p.size(1);
        CpuQuantization.Floats ps = new CpuQuantization.Floats(p), qs = new CpuQuantization.Floats(q), o = new CpuQuantization.Floats(out);
        CpuPool.parallelFor(r, Math.max(1, GRAIN / Math.max(1, c)), (s, e) -> {
            for (long row = s; row < e; row++) {
                long base = row * c;
                double sum = 0;
                for (int k = 0; k < c; k++) {
                    double a = ps.at(base + k), b = qs.at(base + k);
                    sum += kl ? klTerm(a, b) : jsTerm(a, b) + jsTerm(b, a);
                }
                o.set(row, sum);
            }
        });
    }

    static void jsDivergenceBackward(Tensor p, Tensor q, Tensor gradOut, Tensor gradP, Tensor gradQ) {
        int r = p.size(0), c = p.size(1);
        CpuQuantization.Floats ps = new CpuQuantization.Floats(p), qs = new CpuQuantization.Floats(q), g = new CpuQuantization.Floats(gradOut);
        CpuQuantization.Floats gp = new CpuQuantization.Floats(gradP), gq = new CpuQuantization.Floats(gradQ);
        CpuPool.parallelFor(r, Math.max(1, GRAIN / Math.max(1, c)), (s, e) -> {
            for (long row = s; row < e; row++) {
                double go = g.at(row);
                long base = row * c;
                for (int k = 0; k < c; k++) {
                    double a = ps.at(base + k), b = qs.at(base + k);
                    gp.set(base + k, go * jsGradient(a, b));
                    gq.set(base + k, go * jsGradient(b, a));
                }
            }
        });
    }
}
