package io.reg4rec.train.rec;

import io.reg4rec.train.eval.RankingMetrics;

import java.util.Arrays;

/** The reference floor: every user gets the items most frequent in the training parts (ties by id). */
public final class PopularityRanker implements Ranker {
    private final float[] scores;

    /** @param popularity per item id (entry 0 ignored), e.g. {@link Catalogs#trainingPopularity} */
    public PopularityRanker(double[] popularity) {
        scores = new float[popularity.length];
        for (int i = 1; i < popularity.length; i++) scores[i] = (float) popularity[i];
    }

    @Override
    public int[][] rank(int[][] histories, int topK) {
        int[] top = RankingMetrics.topK(scores, topK, null);
        int[][] out = new int[histories.length][];
        Arrays.fill(out, top);
        return out;
    }
}
