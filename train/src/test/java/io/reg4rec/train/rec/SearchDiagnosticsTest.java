package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.autograd.NoGrad;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.model.rec.CatalogSetConstraint;
import io.reg4rec.model.rec.CrssDecoder;
import io.reg4rec.model.rec.DecodedPath;
import io.reg4rec.model.rec.DecodingOrders;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecConfig;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The search-vs-model diagnostics on the chain data with a briefly trained tiny model (the
 * invariants hold for any weights; a little training and a small token space, M = 3 and D = 4,
 * give the beams both hits and misses): the
 * fractions, the hit fraction against an independent beam search, the oracle log-probability
 * against a host recomputation from the teacher-forced logits, and the d = 1 metrics against the
 * evaluator's.
 */
class SearchDiagnosticsTest {
    static final int M = 3, D = 4, BEAM = 4, USERS = 60, TRAINING_STEPS = 12;
    /** Host log-softmax in double vs the engine's F32 log-probabilities summed over M steps. */
    static final double LOG_PROB_TOLERANCE = 1e-4;

    @Test
    void freeBeams() {
        check(false, BEAM);
    }

    @Test
    void catalogConstrainedBeams() {
        check(true, BEAM);
    }

    /** One beam: greedy CRSS, which prunes probable targets for an early less confident pair (search errors). */
    @Test
    void greedySearch() {
        check(false, 1);
    }

    private static void check(boolean catalogBeams, int beam) {
        Dataset data = ChainData.dataset(USERS, 30, 4, 7, 5);
        LeaveOneOut split = LeaveOneOut.split(data);
        ItemCatalog catalog = ChainData.catalog(data, M, D, 2);
        try (Reg4RecModel model = new Reg4RecModel(Device.CPU, tinyConfig(catalog.numCategories()), catalog, 11)) {
            briefTraining(model, split.trainingExamples(8));
            model.eval();
            Reg4RecEvaluator evaluator = new Reg4RecEvaluator(model, beam, 1, catalogBeams, Catalogs.trainingPopularity(split));
            LeaveOneOut.Examples examples = sortedByLength(split.testInputs(8));
            int n = examples.size();
            // one batch: the independent beam search below sees exactly the rows the diagnostics saw
            SearchDiagnostics.Report report = SearchDiagnostics.run(evaluator, examples, n, 0, null);
            assertEquals(n, report.users().size());

            double sum = 0;
            for (SearchDiagnostics.Outcome o : SearchDiagnostics.Outcome.values()) sum += report.outcomeFraction(o);
            assertEquals(1.0, sum, 1e-12, "outcome fractions sum to 1");

            // beam hits against CrssDecoder.beamSearch run on its own
            CrssDecoder.PairConstraint constraint = catalogBeams ? new CatalogSetConstraint(catalog) : null;
            List<List<DecodedPath>> beams = new CrssDecoder(model).beamSearch(examples.histories(), beam, CrssDecoder.MergeRule.LOG_SUM_EXP, false, constraint);
            int hits = 0;
            for (int u = 0; u < n; u++) {
                int[] target = catalog.tokens(examples.targets()[u]);
                List<DecodedPath> userBeams = beams.get(u);
                int rank = IntStream.range(0, userBeams.size()).filter(b -> Arrays.equals(userBeams.get(b).tokens(), target)).findFirst().orElse(-1);
                if (rank >= 0) hits++;
                SearchDiagnostics.UserDiagnosis diag = report.users().get(u);
                assertEquals(rank, diag.beamRank(), "user " + u + " beam rank");
                assertEquals(beams.get(u).get(0).score(), diag.topBeamScore(), 0, "top beam score");
                assertEquals(beams.get(u).get(beams.get(u).size() - 1).score(), diag.lastBeamScore(), 0, "last beam score");
            }
            System.out.printf("SearchDiagnosticsTest catalogBeams=%s: %d of %d hits, %s%n", catalogBeams, hits, n, report.toJson(new ObjectMapper()));
            // one beam keeps the best first pair only: on these weights some target with a better total is pruned
            if (beam == 1) assertTrue(report.outcomeFraction(SearchDiagnostics.Outcome.SEARCH_ERROR) > 0, "greedy search errors");
            assertTrue(hits > 0 && hits < n, "the test needs both hits and misses, got " + hits + " of " + n);
            assertEquals(hits / (double) n, report.outcomeFraction(SearchDiagnostics.Outcome.HIT), 1e-12);
            assertEquals(hits / (double) n, report.beamHitFraction(beam), 1e-12);
            assertTrue(report.beamHitFraction(1) <= report.beamHitFraction(5) && report.beamHitFraction(5) <= report.beamHitFraction(beam));

            // the oracle order is DecodingOrders.targetConfidence's; log-probabilities are <= 0 and classify the misses
            int[][] confidence = DecodingOrders.targetConfidence(model, examples.histories(), examples.targets());
            for (int u = 0; u < n; u++) {
                SearchDiagnostics.UserDiagnosis diag = report.users().get(u);
                assertArrayEquals(confidence[u], diag.oracleOrder(), "user " + u + " oracle order");
                assertTrue(diag.targetLogProb() <= 0 && Double.isFinite(diag.targetLogProb()), "user " + u + " target log-prob " + diag.targetLogProb());
                if (diag.outcome() != SearchDiagnostics.Outcome.HIT) {
                    boolean pruned = diag.beams() < beam || diag.targetLogProb() >= diag.lastBeamScore();
                    assertEquals(pruned ? SearchDiagnostics.Outcome.SEARCH_ERROR : SearchDiagnostics.Outcome.MODEL_ERROR, diag.outcome(), "user " + u);
                }
            }

            // host recomputation for a few users from the teacher-forced (non-incremental) logits
            for (int u : new int[]{0, n / 2, n - 1}) {
                double host = hostTargetLogProb(model, constraint, examples.histories()[u], examples.targets()[u], report.users().get(u).oracleOrder());
                assertEquals(host, report.users().get(u).targetLogProb(), LOG_PROB_TOLERANCE, "user " + u + " target log-prob vs host");
            }

            // step survival: the full-length prefix survives exactly for the hits; a target-only prefix survives at least as often
            double[] survival = report.stepSurvival(), anyOrder = report.stepSurvivalAnyOrder();
            assertEquals(M, survival.length);
            assertEquals(report.beamHitFraction(beam), survival[M - 1], 1e-12);
            for (int s = 0; s < M; s++) {
                assertTrue(survival[s] <= anyOrder[s], "step " + s);
                if (s > 0) assertTrue(anyOrder[s] <= anyOrder[s - 1], "a target-only beam after step " + s + " came from one after step " + (s - 1));
            }

            // the d = 1 metrics are the evaluator's on the same users
            RankingEvaluation.Result plain = RankingEvaluation.evaluate("test", evaluator, model, examples, n, 0, null);
            Map<String, Double> own = plain.metrics().summary(), diagnosed = report.retrieval(1).metrics().summary();
            for (String k : own.keySet()) assertEquals(own.get(k), diagnosed.get(k), 1e-12, k + " at d = 1");
            assertEquals(List.of(0, 1, 2), report.retrievals().stream().map(SearchDiagnostics.Retrieval::mismatches).toList());
            if (catalogBeams) {
                // the items' token sets are distinct: at d = 0 beam b retrieves exactly its own item, at list position b
                assertTrue(report.beamHitFraction(beam) <= report.retrieval(0).metrics().recall(5) + 1e-12, "the first B <= 5 items at d = 0 are the beams' items");
            }
            for (SearchDiagnostics.Retrieval r : report.retrievals()) {
                for (int rank : r.targetRanks()) assertTrue(rank >= 0 && rank <= catalog.numItems(), "1-based rank or 0: " + rank);
                double retrieved = IntStream.of(r.targetRanks()).filter(x -> x > 0).count() / (double) n;
                assertTrue(r.metrics().recall(10) <= retrieved + 1e-12, "the uncut list holds every item of the top-10 list, d = " + r.mismatches());
                assertTrue(r.shortLists() <= r.shortBeforeFill(), "filling only lengthens lists");
            }

            ObjectNode json = report.toJson(new ObjectMapper());
            double jsonSum = json.get("outcomes").get("HIT").asDouble() + json.get("outcomes").get("SEARCH_ERROR").asDouble()
                    + json.get("outcomes").get("MODEL_ERROR").asDouble();
            assertEquals(1.0, jsonSum, 1e-12);
            assertEquals(M, json.get("stepSurvival").size());
            assertTrue(json.get("retrieval").has("d0") && json.get("retrieval").has("d2") && json.get("beamHit").has("rank<" + beam), json.toString());
            assertFalse(model.isTraining(), "the model keeps the mode it was given");
        }
    }

    /**
     * The target's log-probability along the given order, from one teacher-forced pass: at each
     * step a log-softmax in double over the allowed pairs (unused codebooks, and with a constraint
     * only its tokens), and a check that the order takes the most probable unused target pair.
     */
    private static double hostTargetLogProb(Reg4RecModel model, CrssDecoder.PairConstraint constraint, int[] history, int target, int[] order) {
        ItemCatalog catalog = model.catalog();
        float[] logits;
        try (NoGrad ignored = NoGrad.enter()) {
            logits = model.teacherForced(model.encode(new int[][]{history}), new int[]{target}, new int[][]{order}).tokenLogits().data().toFloatArray();
        }
        int pairs = M * D;
        int[] prefix = new int[M];
        Arrays.fill(prefix, -1);
        double total = 0;
        for (int s = 0; s < M; s++) {
            boolean[] allowed = new boolean[pairs];
            for (int c = 0; c < M; c++) {
                if (prefix[c] >= 0) continue;
                int[] tokens = constraint == null ? null : constraint.allowedTokens(prefix.clone(), s, c);
                if (tokens == null) for (int t = 0; t < D; t++) allowed[c * D + t] = true;
                else for (int t : tokens) allowed[c * D + t] = true;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < pairs; p++) if (allowed[p]) max = Math.max(max, logits[s * pairs + p]);
            double z = 0;
            for (int p = 0; p < pairs; p++) if (allowed[p]) z += Math.exp(logits[s * pairs + p] - max);
            double logZ = max + Math.log(z);
            int chosen = order[s] * D + catalog.token(target, order[s]);
            for (int c = 0; c < M; c++) {
                if (prefix[c] >= 0) continue;
                int p = c * D + catalog.token(target, c);
                assertTrue(logits[s * pairs + p] <= logits[s * pairs + chosen] + 1e-5, "step " + s + ": the order takes the most probable unused target pair");
            }
            total += logits[s * pairs + chosen] - logZ;
            prefix[order[s]] = catalog.token(target, order[s]);
        }
        return total;
    }

    /** A few full-batch AdamW steps on random decoding orders, so the beams find some targets and miss others. */
    private static void briefTraining(Reg4RecModel model, LeaveOneOut.Examples train) {
        model.train();
        SplittableRandom rng = new SplittableRandom(5);
        try (AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            for (int step = 0; step < TRAINING_STEPS; step++) {
                try (Scope scope = Scope.open()) {
                    model.loss(train.histories(), train.targets(), DecodingOrders.random(train.size(), M, rng)).total().backward();
                    optimizer.step(5e-3);
                    model.zeroGrad();
                }
            }
        }
    }

    /** The examples in ascending history length (stable), so RankingEvaluation's own sort leaves them in place. */
    private static LeaveOneOut.Examples sortedByLength(LeaveOneOut.Examples ex) {
        int n = Math.min(USERS, ex.size());
        Integer[] idx = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(idx, Comparator.comparingInt(i -> ex.histories()[i].length));
        int[][] h = new int[n][];
        int[] t = new int[n], users = new int[n];
        for (int i = 0; i < n; i++) {
            h[i] = ex.histories()[idx[i]];
            t[i] = ex.targets()[idx[i]];
            users[i] = ex.users()[idx[i]];
        }
        return new LeaveOneOut.Examples(h, t, users);
    }

    /** Reg4RecTrainerTest's tiny widths with this test's M and D. */
    private static Reg4RecConfig tinyConfig(int categories) {
        return Reg4RecConfig.paper(M, D, categories).withWidths(32, 2, 64).withLayers(1, 1).withMaxHistory(8).withDropout(0.0);
    }
}
