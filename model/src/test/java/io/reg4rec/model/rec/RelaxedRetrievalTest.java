package io.reg4rec.model.rec;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RelaxedRetrievalTest {
    /** M = 3, D = 4; items 1 and 5 share a token set. */
    static ItemCatalog catalog() {
        int[][] tokens = {
                {0, 0, 0},
                {0, 0, 0},   // 1
                {0, 0, 1},   // 2
                {0, 1, 1},   // 3
                {1, 1, 1},   // 4
                {0, 0, 0},   // 5
                {2, 0, 0},   // 6
                {3, 3, 3},   // 7
        };
        return new ItemCatalog(tokens, new int[]{0, 0, 1, 1, 2, 2, 0, 1}, 3, 4);
    }

    @Test
    void exactRetrievalReturnsOnlyFullMatches() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        assertArrayEquals(new int[]{1, 5}, r.retrieve(new int[]{0, 0, 0}, 0, 10));
        assertArrayEquals(new int[]{7}, r.retrieve(new int[]{3, 3, 3}, 0, 10));
        assertArrayEquals(new int[0], r.retrieve(new int[]{3, 2, 1}, 0, 10));
    }

    @Test
    void oneMismatchAddsItemsThatDifferInOneCodebookAfterTheExactOnes() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        assertArrayEquals(new int[]{1, 5, 2, 6}, r.retrieve(new int[]{0, 0, 0}, 1, 10));
        assertArrayEquals(new int[]{1, 5, 2}, r.retrieve(new int[]{0, 0, 0}, 1, 3));
        assertArrayEquals(new int[]{1, 5, 6}, r.retrieve(new int[]{1, 0, 0}, 1, 10), "no exact item: only one-mismatch items, by id");
    }

    @Test
    void beamsRankFirstThenMatchesAndEachItemAppearsOnce() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        List<int[]> beams = List.of(new int[]{0, 1, 1}, new int[]{0, 0, 0});
        // beam 1: 3 exact, then 2 and 4 (two matches each); beam 2: 1, 5 exact, 2 already placed, then 6
        assertArrayEquals(new int[]{3, 2, 4, 1, 5, 6}, r.rank(beams, 1, 10));
        assertArrayEquals(new int[]{3, 2, 4, 1}, r.rank(beams, 1, 4));
        assertArrayEquals(new int[]{3, 1, 5}, r.rank(beams, 0, 10));
    }

    @Test
    void priorBreaksTiesWithinAMatchCount() {
        double[] prior = {0, 0, 1, 0, 10, 0, 0, 0};
        RelaxedRetrieval r = new RelaxedRetrieval(catalog(), prior);
        assertArrayEquals(new int[]{3, 4, 2}, r.retrieve(new int[]{0, 1, 1}, 1, 10));
    }

    @Test
    void pathsAreTakenInScoreOrder() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        DecodedPath worse = new DecodedPath(new int[]{0, 0, 0}, new int[]{0, 1, 2}, -3.0, new double[3], null, 1);
        DecodedPath better = new DecodedPath(new int[]{3, 3, 3}, new int[]{0, 1, 2}, -1.0, new double[3], null, 1);
        assertArrayEquals(new int[]{7, 1, 5}, r.rankPaths(List.of(worse, better), 0, 10));
    }

    @Test
    void partialSetsMatchOnDecodedCodebooksOnly() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        assertArrayEquals(new int[]{1, 2, 3, 5}, r.matching(new int[]{0, -1, -1}, 1));
        assertArrayEquals(new int[]{1, 2, 5}, r.matching(new int[]{0, 0, -1}, 2));
        assertArrayEquals(new int[]{2, 3, 4}, r.posting(2, 1));
    }

    @Test
    void rejectsBadArguments() {
        RelaxedRetrieval r = new RelaxedRetrieval(catalog());
        assertThrows(IllegalArgumentException.class, () -> r.retrieve(new int[]{0, 0}, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> r.retrieve(new int[]{0, 0, 0}, 3, 10));
        assertThrows(IllegalArgumentException.class, () -> r.retrieve(new int[]{0, 0, 9}, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> new RelaxedRetrieval(catalog(), new double[3]));
    }
}
