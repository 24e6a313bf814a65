package io.reg4rec.model.rec;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TigerTest {
    @Test
    void trieKnowsPrefixesAndItems() {
        TokenTrie trie = new TokenTrie(RelaxedRetrievalTest.catalog());
        assertArrayEquals(new int[]{0, 1, 2, 3}, trie.continuations(new int[]{-1, -1, -1}, 0));
        assertArrayEquals(new int[]{0, 1}, trie.continuations(new int[]{0, -1, -1}, 1));
        assertArrayEquals(new int[]{0, 1}, trie.continuations(new int[]{0, 0, -1}, 2));
        assertArrayEquals(new int[0], trie.continuations(new int[]{1, 0, -1}, 2), "1,0 is no item's prefix");
        assertArrayEquals(new int[]{1, 5}, trie.items(new int[]{0, 0, 0}));
        assertArrayEquals(new int[0], trie.items(new int[]{0, 1, 0}));
        assertArrayEquals(new int[0], trie.allowedTokens(new int[]{-1, -1, -1}, 0, 1), "only codebook s at step s");
    }

    @Test
    void tigerNeedsAFixedOrderModel() {
        ItemCatalog catalog = Synthetic.catalog(20, 3, 6, 4, 1);
        try (Reg4RecModel crss = new Reg4RecModel(Device.CPU, Reg4RecConfig.paper(3, 6, 4).withWidths(16, 2, 32), catalog, 1)) {
            assertThrows(IllegalArgumentException.class, () -> new Tiger(crss));
        }
    }

    @Test
    void prefixConstrainedBeamsAreValidItemsOnly() {
        ItemCatalog catalog = Synthetic.catalog(20, 3, 6, 4, 1);    // 20 of 216 sequences are items
        Reg4RecConfig config = Reg4RecConfig.paper(3, 6, 4).withWidths(16, 2, 32).withMaxHistory(6).withFixedOrder(true);
        int[][] histories = {{1, 2, 3}, {7}, {4, 5, 6, 7, 8, 9, 10, 11}, {19, 20}};
        try (Scope s = Scope.open(); Reg4RecModel model = new Reg4RecModel(Device.CPU, config, catalog, 5)) {
            model.eval();
            Tiger tiger = new Tiger(model);
            List<List<DecodedPath>> beams = tiger.beamSearch(histories, 8);
            for (List<DecodedPath> userBeams : beams) {
                assertEquals(8, userBeams.size());
                Set<String> seen = new HashSet<>();
                double total = 0;
                for (DecodedPath p : userBeams) {
                    assertArrayEquals(new int[]{0, 1, 2}, p.order());
                    assertEquals(1, tiger.trie().items(p.tokens()).length, "beam " + java.util.Arrays.toString(p.tokens()) + " is an item");
                    assertTrue(seen.add(java.util.Arrays.toString(p.tokens())));
                    total += Math.exp(p.score());
                }
                assertTrue(total <= 1 + 1e-4);
                int[] ranked = tiger.rank(userBeams, 5);
                assertEquals(5, ranked.length);
                assertEquals(tiger.trie().items(userBeams.get(0).tokens())[0], ranked[0]);
            }
            // a beam as wide as the catalog enumerates every item exactly once, probabilities summing to 1
            List<DecodedPath> all = tiger.beamSearch(histories, 40).get(0);
            assertEquals(20, all.size());
            assertEquals(1.0, all.stream().mapToDouble(p -> Math.exp(p.score())).sum(), 1e-4);
            assertTrue(Double.isFinite(tiger.loss(histories, new int[]{4, 8, 12, 1}).total().item()));
        }
    }

    @Test
    void tigerLearnsTheChainFarAbovePopularity() {
        int items = Reg4RecLearningTest.ITEMS, m = Reg4RecLearningTest.M, d = Reg4RecLearningTest.D, c = Reg4RecLearningTest.C;
        ItemCatalog catalog = Synthetic.catalog(items, m, d, c, 42);
        Reg4RecConfig config = Reg4RecConfig.paper(m, d, c).withWidths(32, 2, 64).withLayers(1, 1)
                .withMaxHistory(Reg4RecLearningTest.MAX_LEN).withDropout(0.0).withFixedOrder(true);
        java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
        int[] trainTargetCounts = new int[items + 1];
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, config, catalog, 3); TestAdam adam = new TestAdam(model.parameters())) {
            Tiger tiger = new Tiger(model);
            double first = Double.NaN, last = Double.NaN;
            for (int step = 0; step < 200; step++) {
                try (Scope s = Scope.open()) {
                    int[][] histories = Reg4RecLearningTest.batchHistories(32, rng);
                    int[] targets = Reg4RecLearningTest.targetsOf(histories);
                    for (int t : targets) trainTargetCounts[t]++;
                    Reg4RecModel.PretrainLoss loss = tiger.loss(histories, targets);
                    loss.total().backward();
                    adam.step(3e-3);
                    if (step == 0) first = loss.total().item();
                    last = loss.total().item();
                }
            }
            model.eval();
            int[][] test = Reg4RecLearningTest.batchHistories(200, new java.util.SplittableRandom(99));
            int[] targets = Reg4RecLearningTest.targetsOf(test);
            List<List<DecodedPath>> beams = tiger.beamSearch(test, 10);
            int hits = 0;
            for (int u = 0; u < test.length; u++) if (Reg4RecLearningTest.contains(tiger.rank(beams.get(u), 10), targets[u])) hits++;
            double hit = hits / 200.0, popularity = Reg4RecLearningTest.popularityHitAt10(trainTargetCounts, targets);
            System.out.printf("TIGER chain: loss %.3f -> %.3f in 200 steps; beam10 hit@10 %.3f, popularity hit@10 %.3f%n", first, last, hit, popularity);
            assertTrue(hit > 0.8 && hit > 4 * popularity, "hit@10 " + hit + " vs popularity " + popularity);
        }
    }
}
