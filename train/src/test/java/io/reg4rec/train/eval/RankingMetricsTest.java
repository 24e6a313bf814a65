package io.reg4rec.train.eval;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RankingMetricsTest {
    private static final double LOG2_3 = Math.log(3) / Math.log(2);

    @Test
    void singleTargetByHand() {
        // target at rank 0: 1 and 1; rank 1: 1 and 1/log2(3) = 0.6309; rank 4: 1 and 1/log2(6) = 0.3869
        assertEquals(1.0, RankingMetrics.ndcgAt(new int[]{7, 1, 2}, new int[]{7}, 5), 1e-12);
        assertEquals(1 / LOG2_3, RankingMetrics.ndcgAt(new int[]{3, 1, 2}, new int[]{1}, 5), 1e-12);
        assertEquals(0.386852807, RankingMetrics.ndcgAt(new int[]{9, 8, 7, 6, 5}, new int[]{5}, 5), 1e-9);
        assertEquals(1.0, RankingMetrics.recallAt(new int[]{9, 8, 7, 6, 5}, new int[]{5}, 5));
        assertEquals(0.0, RankingMetrics.recallAt(new int[]{9, 8, 7, 6, 5}, new int[]{5}, 4));
        assertEquals(0.0, RankingMetrics.ndcgAt(new int[]{9, 8, 7, 6, 5}, new int[]{5}, 4));
    }

    @Test
    void shortListsAndMisses() {
        assertEquals(0.0, RankingMetrics.recallAt(new int[]{1, 2}, new int[]{3}, 10));
        assertEquals(1.0, RankingMetrics.recallAt(new int[]{3}, new int[]{3}, 10));
        assertEquals(0.0, RankingMetrics.ndcgAt(new int[0], new int[]{3}, 5));
    }

    @Test
    void targetAtRankSixCountsOnlyAtTen() {
        int[] ranked = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(0.0, RankingMetrics.recallAt(ranked, new int[]{7}, 5));
        assertEquals(1.0, RankingMetrics.recallAt(ranked, new int[]{7}, 10));
        assertEquals(1.0 / 3.0, RankingMetrics.ndcgAt(ranked, new int[]{7}, 10), 1e-12); // 1/log2(8)
    }

    @Test
    void severalRelevantItemsByHand() {
        // relevant {1, 2}, ranked [1, 5, 2]: recall 1; DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) = 1.6309
        assertEquals(1.0, RankingMetrics.recallAt(new int[]{1, 5, 2}, new int[]{1, 2}, 5));
        assertEquals(1.5 / (1 + 1 / LOG2_3), RankingMetrics.ndcgAt(new int[]{1, 5, 2}, new int[]{1, 2}, 5), 1e-12);
        // at K = 1 only one of two can be found: recall 0.5, NDCG 1 (IDCG@1 = 1)
        assertEquals(0.5, RankingMetrics.recallAt(new int[]{1, 5, 2}, new int[]{1, 2}, 1));
        assertEquals(1.0, RankingMetrics.ndcgAt(new int[]{1, 5, 2}, new int[]{1, 2}, 1));
        // a repeated item counts once
        assertEquals(0.5, RankingMetrics.recallAt(new int[]{1, 1, 1}, new int[]{1, 2}, 5));
    }

    @Test
    void averagesOverUsersPerSplit() {
        RankingMetrics test = new RankingMetrics("test");
        test.add(new int[]{4, 2, 9, 1, 3, 8, 7, 6, 5, 10}, 4);  // rank 0: R@5 1, N@5 1, R@10 1, N@10 1
        test.add(new int[]{4, 2, 9, 1, 3, 8, 7, 6, 5, 10}, 8);  // rank 5: R@5 0, N@5 0, R@10 1, N@10 1/log2(7)
        test.add(new int[]{4, 2, 9, 1, 3, 8, 7, 6, 5, 10}, 11); // miss
        test.add(new int[]{4, 2}, 2);                            // rank 1 in a short list: 1/log2(3)
        assertEquals(4, test.users());
        assertEquals(2 / 4.0, test.recall(5), 1e-12);
        assertEquals(3 / 4.0, test.recall(10), 1e-12);
        assertEquals((1 + 1 / LOG2_3) / 4, test.ndcg(5), 1e-12);
        double log2of7 = Math.log(7) / Math.log(2);
        assertEquals((1 + 1 / log2of7 + 1 / LOG2_3) / 4, test.ndcg(10), 1e-12);
        Map<String, Double> summary = test.summary();
        assertArrayEquals(new String[]{"recall@5", "ndcg@5", "recall@10", "ndcg@10"}, summary.keySet().toArray());
        assertThrows(IllegalArgumentException.class, () -> test.recall(20));
        assertThrows(IllegalStateException.class, () -> new RankingMetrics("validation").recall(5));
    }

    @Test
    void topKAndRankFromScores() {
        float[] scores = {100f, 0.5f, 0.9f, 0.1f, 0.9f, Float.NaN, 0.7f}; // index 0 is padding, never ranked
        assertArrayEquals(new int[]{2, 4, 6, 1, 3, 5}, RankingMetrics.topK(scores, 10, null));
        assertArrayEquals(new int[]{2, 4, 6}, RankingMetrics.topK(scores, 3, null));
        boolean[] excluded = new boolean[7];
        excluded[4] = true;
        assertArrayEquals(new int[]{2, 6}, RankingMetrics.topK(scores, 2, excluded));
        assertEquals(0, RankingMetrics.rankOf(scores, 2, null));
        assertEquals(1, RankingMetrics.rankOf(scores, 4, null), "tie with item 2, which has the smaller id");
        assertEquals(3, RankingMetrics.rankOf(scores, 1, null));
        assertEquals(2, RankingMetrics.rankOf(scores, 1, excluded));
        assertEquals(5, RankingMetrics.rankOf(scores, 5, null), "NaN ranks last");
        // rankOf agrees with the position in topK over random scores
        java.util.Random rng = new java.util.Random(3);
        float[] random = new float[200];
        for (int i = 0; i < random.length; i++) random[i] = rng.nextInt(50) / 10f;
        int[] full = RankingMetrics.topK(random, 199, null);
        for (int r = 0; r < full.length; r++) assertEquals(r, RankingMetrics.rankOf(random, full[r], null));
    }
}
