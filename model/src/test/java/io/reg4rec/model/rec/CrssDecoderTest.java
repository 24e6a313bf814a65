package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.nn.DecoderCache;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class CrssDecoderTest {
    static final int[][] HISTORIES = {{1, 2, 3}, {7}, {4, 5, 6, 7, 8, 9, 1, 2, 3}, {8, 9}};

    static Reg4RecModel model(int m, int d, int c, long seed) {
        ItemCatalog catalog = Synthetic.catalog((int) Math.min(30, Math.pow(d, m)), m, d, c, seed);
        Reg4RecConfig config = Reg4RecConfig.paper(m, d, c).withWidths(16, 2, 32).withMaxHistory(6);
        Reg4RecModel model = new Reg4RecModel(Device.CPU, config, catalog, seed + 11);
        model.eval();
        return model;
    }

    @Test
    void greedyUsesEveryCodebookOnceAndRecordsDistributions() {
        try (Scope s = Scope.open(); Reg4RecModel model = model(4, 6, 5, 1)) {
            List<DecodedPath> paths = new CrssDecoder(model).greedy(HISTORIES, true);
            assertEquals(HISTORIES.length, paths.size());
            for (DecodedPath p : paths) {
                assertEquals(4, p.steps());
                Set<Integer> codebooks = new HashSet<>();
                for (int c : p.order()) assertTrue(codebooks.add(c), "codebook chosen twice: " + java.util.Arrays.toString(p.order()));
                for (int c = 0; c < 4; c++) assertTrue(p.tokens()[c] >= 0 && p.tokens()[c] < 6);
                double sum = 0;
                for (double lp : p.stepLogProbs()) {
                    assertTrue(lp <= 0);
                    sum += lp;
                }
                assertEquals(sum, p.score(), 1e-9);
                for (float[] cat : p.categoryProbs()) {
                    assertEquals(5, cat.length);
                    double total = 0;
                    for (float v : cat) total += v;
                    assertEquals(1.0, total, 1e-4);
                }
            }
        }
    }

    /** Greedy picks the argmax of the joint step distribution: checked step by step against a brute-force run of the model. */
    @Test
    void greedyTakesTheMostProbablePairOverUnusedCodebooks() {
        try (Scope s = Scope.open(); Reg4RecModel model = model(3, 5, 4, 2)) {
            List<DecodedPath> paths = new CrssDecoder(model).greedy(HISTORIES, false);
            try (NoGrad ignored = NoGrad.enter(); DecoderCache cache = model.startDecoding(model.encode(HISTORIES))) {
                int users = HISTORIES.length, pairs = 15;
                int[] used = new int[users], inCb = new int[users], inTok = new int[users];
                for (int step = 0; step < 3; step++) {
                    Reg4RecModel.StepOutput out = model.decodeStep(cache, inCb, inTok);
                    float[] logits = out.tokenLogits().data().toFloatArray();
                    for (int u = 0; u < users; u++) {
                        int best = -1;
                        for (int k = 0; k < pairs; k++) {
                            if ((used[u] & (1 << (k / 5))) != 0) continue;
                            if (best < 0 || logits[u * pairs + k] > logits[u * pairs + best]) best = k;
                        }
                        DecodedPath p = paths.get(u);
                        assertEquals(best / 5, p.order()[step]);
                        assertEquals(best % 5, p.tokens()[best / 5]);
                        used[u] |= 1 << (best / 5);
                        inCb[u] = best / 5;
                        inTok[u] = best % 5;
                    }
                }
            }
        }
    }

    @Test
    void candidatesForTheSameSetMergeOnce() {
        CrssDecoder.Beam root = CrssDecoder.Beam.root(2);
        // step 0: {(0,1)} with p .5 and {(1,0)} with p .3
        CrssDecoder.Beam a = new CrssDecoder.Candidate(root, 0, 0, 1, Math.log(0.5), null).toBeam();
        CrssDecoder.Beam b = new CrssDecoder.Candidate(root, 0, 1, 0, Math.log(0.3), null).toBeam();
        // step 1: a + (1,0) (p .4) and b + (0,1) (p .6) both reach {(0,1), (1,0)}
        for (CrssDecoder.MergeRule rule : CrssDecoder.MergeRule.values()) {
            CrssDecoder.Candidate fromA = new CrssDecoder.Candidate(a, 0, 1, 0, Math.log(0.4), null);
            CrssDecoder.Candidate fromB = new CrssDecoder.Candidate(b, 1, 0, 1, Math.log(0.6), null);
            CrssDecoder.Candidate other = new CrssDecoder.Candidate(a, 0, 1, 1, Math.log(0.1), null);
            Map<CrssDecoder.Key, CrssDecoder.Candidate> pool = new LinkedHashMap<>();
            for (CrssDecoder.Candidate c : List.of(fromA, other, fromB)) pool.merge(c.key, c, (x, y) -> x.mergeWith(y, rule));
            assertEquals(2, pool.size(), "the two orders of {(0,1),(1,0)} are one candidate");
            CrssDecoder.Candidate merged = pool.get(new CrssDecoder.Key(new int[]{1, 0}));
            assertSame(fromA, merged, "the better single path (.5 * .4 = .2 > .3 * .6 = .18) represents the set");
            assertEquals(2, merged.mergedPaths);
            double expected = rule == CrssDecoder.MergeRule.LOG_SUM_EXP ? Math.log(0.2 + 0.18) : Math.log(0.2);
            assertEquals(expected, merged.score, 1e-12);
            CrssDecoder.Beam beam = merged.toBeam();
            assertArrayEquals(new int[]{0, 1}, beam.order);
            assertEquals(expected, beam.score, 1e-12);
            assertEquals(1, pool.get(new CrssDecoder.Key(new int[]{1, 1})).mergedPaths);
        }
    }

    /**
     * With beams wide enough to keep every partial set, beam search is exhaustive: every complete
     * set appears once, merged from both orders, with score log(p(order 0,1) + p(order 1,0))
     * computed here by brute force, and the probabilities sum to 1.
     */
    @Test
    void exhaustiveBeamSearchMergesOrdersIntoExactSetProbabilities() {
        int m = 2, d = 3, pairs = m * d;
        try (Scope s = Scope.open(); Reg4RecModel model = model(m, d, 3, 3)) {
            List<List<DecodedPath>> beams = new CrssDecoder(model).beamSearch(HISTORIES, 50, CrssDecoder.MergeRule.LOG_SUM_EXP, true, null);
            double[][][] bruteForce = new double[HISTORIES.length][d][d];   // [user][token of codebook 0][token of codebook 1]
            try (NoGrad ignored = NoGrad.enter(); DecoderCache cache = model.startDecoding(model.encode(HISTORIES))) {
                int users = HISTORIES.length;
                float[] first = model.maskedLogProbs(model.decodeStep(cache, null, null).tokenLogits(), model.disallowedCodebooks(new int[users], 0)).data().toFloatArray();
                int[] sources = new int[users * pairs], inCb = new int[users * pairs], inTok = new int[users * pairs], used = new int[users * pairs];
                for (int u = 0; u < users; u++) {
                    for (int k = 0; k < pairs; k++) {
                        int row = u * pairs + k;
                        sources[row] = u;
                        inCb[row] = k / d;
                        inTok[row] = k % d;
                        used[row] = 1 << (k / d);
                    }
                }
                cache.reorder(sources, pairs);
                float[] second = model.maskedLogProbs(model.decodeStep(cache, inCb, inTok).tokenLogits(), model.disallowedCodebooks(used, 1)).data().toFloatArray();
                for (int u = 0; u < users; u++) {
                    for (int t0 = 0; t0 < d; t0++) {
                        for (int t1 = 0; t1 < d; t1++) {
                            double order01 = Math.exp(first[u * pairs + t0] + second[(u * pairs + t0) * pairs + d + t1]);
                            double order10 = Math.exp(first[u * pairs + d + t1] + second[(u * pairs + d + t1) * pairs + t0]);
                            bruteForce[u][t0][t1] = order01 + order10;
                        }
                    }
                }
            }
            for (int u = 0; u < HISTORIES.length; u++) {
                List<DecodedPath> userBeams = beams.get(u);
                assertEquals(d * d, userBeams.size(), "every set once");
                Set<String> seen = new HashSet<>();
                double total = 0;
                double previous = Double.POSITIVE_INFINITY;
                for (DecodedPath p : userBeams) {
                    assertTrue(seen.add(java.util.Arrays.toString(p.tokens())), "set returned twice");
                    assertEquals(2, p.mergedPaths());
                    assertTrue(p.score() <= previous, "beams sorted by score");
                    previous = p.score();
                    assertEquals(Math.log(bruteForce[u][p.tokens()[0]][p.tokens()[1]]), p.score(), 1e-4);
                    assertEquals(2, p.categoryProbs().length);
                    total += Math.exp(p.score());
                }
                assertEquals(1.0, total, 1e-4);
            }
        }
    }

    @Test
    void beamOfWidthOneIsGreedy() {
        try (Scope s = Scope.open(); Reg4RecModel model = model(4, 7, 3, 4)) {
            CrssDecoder decoder = new CrssDecoder(model);
            List<DecodedPath> greedy = decoder.greedy(HISTORIES, false);
            List<List<DecodedPath>> beams = decoder.beamSearch(HISTORIES, 1, CrssDecoder.MergeRule.MAX, false, null);
            for (int u = 0; u < HISTORIES.length; u++) {
                assertEquals(1, beams.get(u).size());
                assertArrayEquals(greedy.get(u).tokens(), beams.get(u).get(0).tokens());
                assertArrayEquals(greedy.get(u).order(), beams.get(u).get(0).order());
                assertEquals(greedy.get(u).score(), beams.get(u).get(0).score(), 1e-5);
            }
        }
    }

    @Test
    void wideBeamsHoldDistinctCompleteSetsBestFirst() {
        try (Scope s = Scope.open(); Reg4RecModel model = model(4, 6, 3, 5)) {
            List<List<DecodedPath>> beams = new CrssDecoder(model).beamSearch(HISTORIES, 12);
            for (List<DecodedPath> userBeams : beams) {
                assertEquals(12, userBeams.size());
                Set<String> seen = new HashSet<>();
                double previous = Double.POSITIVE_INFINITY;
                for (DecodedPath p : userBeams) {
                    assertTrue(seen.add(java.util.Arrays.toString(p.tokens())));
                    assertEquals(4, java.util.Arrays.stream(p.order()).distinct().count());
                    for (int t : p.tokens()) assertTrue(t >= 0);
                    assertTrue(p.score() <= previous && p.score() < 0);
                    previous = p.score();
                }
            }
        }
    }

    /** Decoding releases everything it allocates (the cache and the per-step temporaries), so it can run per batch on a GPU without a caller scope. */
    @Test
    void decodingLeavesNoLiveTensorsBehind() {
        try (Reg4RecModel model = model(3, 5, 4, 6)) {
            var backend = io.reg4rec.engine.Engine.backend(Device.CPU);
            CrssDecoder decoder = new CrssDecoder(model);
            decoder.greedy(HISTORIES, true);   // warm-up: lazily created constants
            long before = backend.memoryStats().liveBlocks();
            decoder.greedy(HISTORIES, true);
            decoder.beamSearch(HISTORIES, 6, CrssDecoder.MergeRule.LOG_SUM_EXP, true, null);
            DecodingOrders.targetConfidence(model, HISTORIES, new int[]{1, 2, 3, 4});
            assertEquals(before, backend.memoryStats().liveBlocks());
        }
    }

    @Test
    void catalogConstraintKeepsBeamsOnItemTokenSets() {
        try (Scope s = Scope.open(); Reg4RecModel model = model(4, 6, 5, 3)) {
            ItemCatalog catalog = model.catalog();
            Set<List<Integer>> itemSets = new HashSet<>();
            for (int item = 1; item <= catalog.numItems(); item++) {
                List<Integer> set = new java.util.ArrayList<>();
                for (int c = 0; c < 4; c++) set.add(catalog.token(item, c));
                itemSets.add(set);
            }
            CatalogSetConstraint constraint = new CatalogSetConstraint(catalog);
            List<List<DecodedPath>> beams = new CrssDecoder(model).beamSearch(HISTORIES, 8, CrssDecoder.MergeRule.LOG_SUM_EXP, false, constraint);
            for (List<DecodedPath> user : beams) {
                assertFalse(user.isEmpty());
                for (DecodedPath p : user) {
                    List<Integer> set = new java.util.ArrayList<>();
                    for (int t : p.tokens()) set.add(t);
                    assertTrue(itemSets.contains(set), "beam " + set + " is no item's token set");
                }
            }
            // with codebook 0's token of item 1 decoded, codebook 1 may take exactly the tokens of the items sharing it
            int[] partial = {catalog.token(1, 0), -1, -1, -1};
            Set<Integer> expected = new java.util.TreeSet<>();
            for (int item = 1; item <= catalog.numItems(); item++) if (catalog.token(item, 0) == partial[0]) expected.add(catalog.token(item, 1));
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), constraint.allowedTokens(partial, 1, 1));
        }
    }
}
