package io.reg4rec.train.rec;

import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TransitionRankerTest {
    /**
     * Seven items; the training parts (all but each line's last two) hold 1->2 twice, 1->3 and
     * 1->4 once each, and nothing after item 7.
     */
    private static LeaveOneOut handMade() {
        int[][] sequences = {
                {1, 2, 5, 6, 3},
                {1, 2, 6, 5, 3},
                {1, 3, 4, 5, 2},
                {6, 1, 4, 2, 3},
                {5, 4, 7, 2, 6},
        };
        int[] category = new int[8];
        int[][] attributes = new int[8][];
        for (int i = 0; i <= 7; i++) attributes[i] = new int[0];
        return LeaveOneOut.split(Dataset.of("hand", 7, sequences, category, attributes, 0, null, null));
    }

    @Test
    void followersOfTheLastItemComeFirstByCountThenPopularity() {
        LeaveOneOut split = handMade();
        double[] popularity = Catalogs.trainingPopularity(split);
        TransitionRanker ranker = new TransitionRanker(split, popularity);
        int[] list = ranker.rank(new int[][]{{5, 1}}, 5)[0];
        // 1 -> 2 twice first; 1 -> 3 and 1 -> 4 once each, 4 the more popular in the training parts
        assertEquals(3.0, popularity[4]);
        assertEquals(1.0, popularity[3]);
        assertArrayEquals(new int[]{2, 4, 3}, java.util.Arrays.copyOf(list, 3));
        assertEquals(5, list.length);
        assertEquals(5, java.util.Arrays.stream(list).distinct().count(), "no item twice");
    }

    @Test
    void anItemNeverFollowedFallsBackToPopularity() {
        LeaveOneOut split = handMade();
        double[] popularity = Catalogs.trainingPopularity(split);
        int[] expected = new PopularityRanker(popularity).rank(new int[][]{{}}, 3)[0];
        TransitionRanker ranker = new TransitionRanker(split, popularity);
        assertArrayEquals(expected, ranker.rank(new int[][]{{}}, 3)[0], "empty history");
        // item 7 is never followed within a training part
        assertArrayEquals(expected, ranker.rank(new int[][]{{2, 7}}, 3)[0]);
    }

    @Test
    void learnsTheChainWhereEveryItemHasOneSuccessor() {
        Dataset data = ChainData.dataset(300, 100, 5, 9, 11);
        LeaveOneOut split = LeaveOneOut.split(data);
        double[] popularity = Catalogs.trainingPopularity(split);
        double chain = RecPipeline.test(new TransitionRanker(split, popularity), null, split, 8, 128, false).metrics().recall(10);
        double popular = RecPipeline.test(new PopularityRanker(popularity), null, split, 8, 128, false).metrics().recall(10);
        assertTrue(chain > 0.95, "R@10 " + chain);
        assertTrue(popular < 0.3, "R@10 " + popular);
    }

    @Test
    void aPopularityTableOfTheWrongSizeIsRefused() {
        LeaveOneOut split = handMade();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TransitionRanker(split, new double[3]));
        assertTrue(e.getMessage().contains("popularity has 3 entries"), e.getMessage());
    }

    /** On the real datasets the floor is strong: the test figures README quotes. */
    @Test
    void realDataFloors() {
        for (String name : new String[]{"beauty", "sports"}) {
            java.nio.file.Path dir = io.reg4rec.train.data.RealData.dir(name);
            org.junit.jupiter.api.Assumptions.assumeTrue(dir != null, "real " + name + " data not present");
            LeaveOneOut split = LeaveOneOut.split(io.reg4rec.train.data.Datasets.loadS3Rec(dir));
            double[] popularity = Catalogs.trainingPopularity(split);
            var transitions = RecPipeline.test(new TransitionRanker(split, popularity), null, split, 50, 1024, false).metrics();
            var popular = RecPipeline.test(new PopularityRanker(popularity), null, split, 50, 1024, false).metrics();
            System.out.printf(java.util.Locale.ROOT, "%s test: last-item transitions R@5 %.4f N@5 %.4f R@10 %.4f N@10 %.4f; popularity R@10 %.4f%n",
                    name, transitions.recall(5), transitions.ndcg(5), transitions.recall(10), transitions.ndcg(10), popular.recall(10));
            assertTrue(transitions.recall(10) > 3 * popular.recall(10), name + ": " + transitions + " vs popularity " + popular);
        }
    }
}
