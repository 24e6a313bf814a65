package io.reg4rec.train.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.nn.Module;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.eval.RankingMetrics;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Ranks every user of a split with a {@link Ranker} in batches and scores the lists with
 * {@link RankingMetrics} (R@5, N@5, R@10, N@10). Full ranking over all items; history items are
 * not excluded from the lists: the S3Rec / TIGER leave-one-out protocol the paper's Table 2
 * follows keeps them (a repeated purchase is a legitimate target), so excluding them would make
 * the figures incomparable.
 */
public final class RankingEvaluation {
    /** The cut-off of the ranked lists (the largest K of the metrics). */
    public static final int TOP_K = 10;

    /** Metrics of one split and how fast it was ranked. */
    /** @param meanListLength mean length of the ranked lists (below TOP_K when a ranker retrieved fewer items) */
    public record Result(RankingMetrics metrics, double seconds, double meanListLength) {
        public double usersPerSecond() { return metrics.users() / Math.max(seconds, 1e-9); }
    }

    private RankingEvaluation() {}

    /**
     * Evaluates the first {@code maxUsers} examples (0 = all) in batches of {@code batchUsers}, with
     * the module (when given) in eval mode for the duration; {@code progress} hears the users done.
     */
    public static Result evaluate(String split, Ranker ranker, Module module, LeaveOneOut.Examples examples, int batchUsers, int maxUsers,
                                  IntConsumer progress) {
        if (batchUsers < 1) throw new IllegalArgumentException("RankingEvaluation: batchUsers must be >= 1, got " + batchUsers);
        int users = maxUsers > 0 ? Math.min(maxUsers, examples.size()) : examples.size();
        RankingMetrics metrics = new RankingMetrics(split);
        boolean wasTraining = module != null && module.isTraining();
        if (module != null) module.eval();
        long start = System.nanoTime();
        long listItems = 0;
        try (NoGrad ignored = NoGrad.enter()) {
            // users in order of history length, so a batch pads its histories little (the metrics are means: order does not matter)
            Integer[] byLength = new Integer[users];
            for (int u = 0; u < users; u++) byLength[u] = u;
            Arrays.sort(byLength, java.util.Comparator.comparingInt(u -> examples.histories()[u].length));
            for (int from = 0; from < users; from += batchUsers) {
                int to = Math.min(users, from + batchUsers);
                int[][] histories = new int[to - from][];
                for (int i = from; i < to; i++) histories[i - from] = examples.histories()[byLength[i]];
                int[][] ranked;
                try (Scope scope = Scope.open()) {
                    ranked = ranker.rank(histories, TOP_K);
                }
                if (ranked.length != to - from) throw new IllegalStateException("RankingEvaluation: ranker returned " + ranked.length + " lists for " + (to - from) + " histories");
                for (int i = from; i < to; i++) {
                    metrics.add(ranked[i - from], examples.targets()[byLength[i]]);
                    listItems += Math.min(TOP_K, ranked[i - from].length);
                }
                if (progress != null) progress.accept(to);
            }
        } finally {
            if (wasTraining) module.train();
        }
        return new Result(metrics, (System.nanoTime() - start) / 1e9, users == 0 ? 0 : (double) listItems / users);
    }
}
