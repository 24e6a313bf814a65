package io.reg4rec.model.rec;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A small learning check on the CPU: items with random token sets, and the next item is a
 * deterministic function of the last one (i -> i + 1, wrapping). Trained with random decoding
 * orders, greedy CRSS + relaxed retrieval must beat popularity (uniform here: 10 / N) by far.
 */
class Reg4RecLearningTest {
    static final int ITEMS = 100, M = 3, D = 8, C = 5, MAX_LEN = 8;

    static int[][] batchHistories(int n, SplittableRandom rng) {
        int[][] h = new int[n][];
        for (int i = 0; i < n; i++) h[i] = Synthetic.chainHistory(ITEMS, MAX_LEN, rng);
        return h;
    }

    static int[] targetsOf(int[][] histories) {
        int[] t = new int[histories.length];
        for (int i = 0; i < t.length; i++) t[i] = Synthetic.next(histories[i][histories[i].length - 1], ITEMS);
        return t;
    }

    /** Fraction of users whose target is within the ranked top 10 of all items by training-target popularity. */
    static double popularityHitAt10(int[] trainTargetCounts, int[] testTargets) {
        Integer[] items = new Integer[ITEMS];
        for (int i = 0; i < ITEMS; i++) items[i] = i + 1;
        java.util.Arrays.sort(items, (a, b) -> trainTargetCounts[b] != trainTargetCounts[a] ? trainTargetCounts[b] - trainTargetCounts[a] : a - b);
        java.util.Set<Integer> top = new java.util.HashSet<>(java.util.Arrays.asList(items).subList(0, 10));
        int hits = 0;
        for (int t : testTargets) if (top.contains(t)) hits++;
        return (double) hits / testTargets.length;
    }

    @Test
    void crssLearnsTheChainFarAbovePopularity() {
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 42);
        Reg4RecConfig config = Reg4RecConfig.paper(M, D, C).withWidths(32, 2, 64).withLayers(1, 1).withMaxHistory(MAX_LEN).withDropout(0.0);
        SplittableRandom rng = new SplittableRandom(7);
        int[] trainTargetCounts = new int[ITEMS + 1];
        long start = System.nanoTime();
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, config, catalog, 3); TestAdam adam = new TestAdam(model.parameters())) {
            double firstLoss = Double.NaN, lastLoss = Double.NaN;
            int steps = 300;
            for (int step = 0; step < steps; step++) {
                try (Scope s = Scope.open()) {
                    int[][] histories = batchHistories(32, rng);
                    int[] targets = targetsOf(histories);
                    for (int t : targets) trainTargetCounts[t]++;
                    Reg4RecModel.PretrainLoss loss = model.loss(histories, targets, DecodingOrders.random(32, M, rng));
                    loss.total().backward();
                    adam.step(3e-3);
                    double value = loss.total().item();
                    if (step == 0) firstLoss = value;
                    lastLoss = value;
                }
            }
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            model.eval();
            int[][] test = batchHistories(200, new SplittableRandom(99));
            int[] targets = targetsOf(test);
            RelaxedRetrieval retrieval = new RelaxedRetrieval(catalog);
            CrssDecoder decoder = new CrssDecoder(model);
            List<DecodedPath> greedy = decoder.greedy(test, false);
            List<List<DecodedPath>> beams = decoder.beamSearch(test, 10);
            int greedyHits = 0, greedyExact = 0, beamHits = 0;
            for (int u = 0; u < test.length; u++) {
                if (contains(retrieval.rankPaths(List.of(greedy.get(u)), 1, 10), targets[u])) greedyHits++;
                if (java.util.Arrays.equals(greedy.get(u).tokens(), catalog.tokens(targets[u]))) greedyExact++;
                if (contains(retrieval.rankPaths(beams.get(u), 0, 10), targets[u])) beamHits++;
            }
            double greedyHit = greedyHits / 200.0, beamHit = beamHits / 200.0, popularity = popularityHitAt10(trainTargetCounts, targets);
            System.out.printf("REG4Rec chain: loss %.3f -> %.3f in 300 steps (%.1f s); greedy exact %.3f, greedy+relaxed(d=1) hit@10 %.3f,"
                    + " beam10+exact hit@10 %.3f, popularity hit@10 %.3f%n", firstLoss, lastLoss, trainSeconds, greedyExact / 200.0, greedyHit, beamHit, popularity);
            assertTrue(lastLoss < firstLoss / 3, "loss falls: " + firstLoss + " -> " + lastLoss);
            assertTrue(greedyHit > 0.8, "greedy CRSS + relaxed retrieval hit@10 " + greedyHit);
            assertTrue(beamHit > 0.8, "beam search hit@10 " + beamHit);
            assertTrue(greedyHit > 4 * popularity, "far above popularity " + popularity);
        }
    }

    static boolean contains(int[] ranked, int item) {
        for (int i : ranked) if (i == item) return true;
        return false;
    }
}
