package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.DecoderCache;
import io.reg4rec.model.rec.CrssDecoder;
import io.reg4rec.model.rec.DecodedPath;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.eval.RankingMetrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * Tells whether REG4Rec's ranking loses its targets in the SEARCH (the target's token set is
 * probable but beam search prunes it) or in the MODEL (the target's path is improbable), using the
 * same beam search as {@link Reg4RecEvaluator} (its width, merge rule and catalog constraint).
 *
 * <p>Per user: whether the target's token set is among the final beams and at which rank; the
 * target's log-probability along the <i>oracle confidence order</i> (from BOS, the decoder fed the
 * target's own pairs, each step takes the target's still-unused pair of highest probability under
 * the step distribution beam search uses: the joint softmax over allowed pairs, renormalised over
 * the constraint's pairs when beams are catalog-constrained; this is
 * {@link io.reg4rec.model.rec.DecodingOrders#targetConfidence}'s order, computed here in the same
 * pass as the log-probabilities); the top and last beam's scores; which of the kept beams after each
 * step still hold the target's oracle prefix; and relaxed-retrieval metrics at several d from the
 * same beams.
 *
 * <p>Classification: HIT when the target's set is a final beam; SEARCH_ERROR when it is not but
 * its oracle-order log-probability is at least the last beam's score (or the user kept fewer than
 * B beams, so any surviving path would have made the list): beam search pruned a path that would
 * have been kept; MODEL_ERROR otherwise. A merged beam's score is the log-sum-exp over the orders
 * it merged, while the target is scored along one order (a lower bound of its set probability),
 * so SEARCH_ERROR is, if anything, under-counted.
 *
 * <p>Users are batched as {@link RankingEvaluation} batches them (sorted by history length, the
 * same batch size), so on the same users the beams, and the metrics at the evaluator's d, are
 * the evaluator's own.
 */
public final class SearchDiagnostics {
    /** Where a user's target ends up. */
    public enum Outcome { HIT, SEARCH_ERROR, MODEL_ERROR }

    /**
     * One user's diagnosis.
     *
     * @param example           index of the example in the evaluated split
     * @param target            the target item
     * @param beamRank          0-based rank of the target's token set among the final beams, -1 when absent
     * @param beams             number of final beams (B unless the constraint ran out of candidates)
     * @param oracleOrder       codebook taken at each step of the oracle confidence order
     * @param targetStepLogProbs log-probability of the target's pair at each step of that order
     * @param targetLogProb     their sum (-Infinity when a constraint forbids one of the target's pairs)
     * @param topBeamScore      the best final beam's score (NaN without beams)
     * @param lastBeamScore     the last final beam's score (NaN without beams)
     * @param prefixKept        prefixKept[s]: the target's oracle prefix of s + 1 pairs was among the beams kept after step s
     * @param anyPrefixKept     anyPrefixKept[s]: some kept beam after step s held only target pairs (in any order)
     * @param outcome           HIT, SEARCH_ERROR or MODEL_ERROR
     */
    public record UserDiagnosis(int example, int target, int beamRank, int beams, int[] oracleOrder, double[] targetStepLogProbs,
                                double targetLogProb, double topBeamScore, double lastBeamScore, boolean[] prefixKept, boolean[] anyPrefixKept,
                                Outcome outcome) {}

    /**
     * Relaxed retrieval at one d over the users' beams.
     *
     * @param metrics          R@5, N@5, R@10, N@10 of the evaluator's top-10 lists (filled at d + 1, ... when short)
     * @param targetRanks      per user, 1-based rank of the target in the uncut list (the same procedure without
     *                         the top-10 cut-off, so every item any beam reaches at up to M - 1 mismatches), 0 when absent
     * @param shortLists       users whose top-10 list, after filling, has fewer than 10 items
     * @param shortBeforeFill  users whose list at d alone has fewer than 10 items (those the filling completes or leaves short)
     */
    public record Retrieval(int mismatches, RankingMetrics metrics, int[] targetRanks, int shortLists, int shortBeforeFill) {}

    /** All users' diagnoses and the retrieval at each d. */
    public record Report(int beamWidth, int codebooks, boolean catalogBeams, List<UserDiagnosis> users, List<Retrieval> retrievals) {
        /** Fraction of users whose target set is a final beam of 0-based rank below k. */
        public double beamHitFraction(int k) {
            return fraction(u -> u.beamRank() >= 0 && u.beamRank() < k);
        }

        public double outcomeFraction(Outcome o) {
            return fraction(u -> u.outcome() == o);
        }

        /** stepSurvival[s]: fraction of users whose oracle prefix of s + 1 pairs was kept after step s. */
        public double[] stepSurvival() {
            double[] out = new double[codebooks];
            for (int s = 0; s < codebooks; s++) {
                int step = s;
                out[s] = fraction(u -> u.prefixKept()[step]);
            }
            return out;
        }

        /** As {@link #stepSurvival} with any kept beam made only of target pairs, whatever its order. */
        public double[] stepSurvivalAnyOrder() {
            double[] out = new double[codebooks];
            for (int s = 0; s < codebooks; s++) {
                int step = s;
                out[s] = fraction(u -> u.anyPrefixKept()[step]);
            }
            return out;
        }

        public Retrieval retrieval(int mismatches) {
            for (Retrieval r : retrievals) if (r.mismatches() == mismatches) return r;
            throw new IllegalArgumentException("SearchDiagnostics: no retrieval at d = " + mismatches + ", have " + retrievals.stream().map(Retrieval::mismatches).toList());
        }

        private double fraction(java.util.function.Predicate<UserDiagnosis> p) {
            if (users.isEmpty()) return 0;
            return users.stream().filter(p).count() / (double) users.size();
        }

        /** The aggregate figures as one JSON object (see the README's Evaluate section). */
        public ObjectNode toJson(ObjectMapper json) {
            ObjectNode root = json.createObjectNode().put("users", users.size()).put("beam", beamWidth).put("codebooks", codebooks)
                    .put("catalogBeams", catalogBeams).put("mergeRule", CrssDecoder.MergeRule.LOG_SUM_EXP.name());
            ObjectNode hits = root.putObject("beamHit");
            for (int k : new TreeSet<>(List.of(1, 5, 10, beamWidth))) hits.put("rank<" + k, beamHitFraction(k));
            ObjectNode outcomes = root.putObject("outcomes");
            for (Outcome o : Outcome.values()) outcomes.put(o.name(), outcomeFraction(o));
            ObjectNode logProbs = root.putObject("logProb");
            summary(logProbs.putObject("target"), users.stream().mapToDouble(UserDiagnosis::targetLogProb).toArray());
            summary(logProbs.putObject("topBeam"), users.stream().mapToDouble(UserDiagnosis::topBeamScore).toArray());
            summary(logProbs.putObject("lastBeam"), users.stream().mapToDouble(UserDiagnosis::lastBeamScore).toArray());
            summary(logProbs.putObject("modelErrorGap"), users.stream().filter(u -> u.outcome() == Outcome.MODEL_ERROR)
                    .mapToDouble(u -> u.lastBeamScore() - u.targetLogProb()).toArray());
            ArrayNode survival = root.putArray("stepSurvival");
            for (double v : stepSurvival()) survival.add(v);
            ArrayNode anyOrder = root.putArray("stepSurvivalAnyOrder");
            for (double v : stepSurvivalAnyOrder()) anyOrder.add(v);
            ObjectNode retrieval = root.putObject("retrieval");
            for (Retrieval r : retrievals) {
                ObjectNode d = retrieval.putObject("d" + r.mismatches());
                r.metrics().summary().forEach(d::put);
                int[] found = Arrays.stream(r.targetRanks()).filter(x -> x > 0).toArray();
                d.put("retrieved", users.isEmpty() ? 0 : found.length / (double) users.size());
                d.put("meanTargetRank", found.length == 0 ? Double.NaN : Arrays.stream(found).average().orElse(Double.NaN));
                d.put("shortLists", users.isEmpty() ? 0 : r.shortLists() / (double) users.size());
                d.put("shortBeforeFill", users.isEmpty() ? 0 : r.shortBeforeFill() / (double) users.size());
            }
            return root;
        }

        /** Mean and median of the finite values, and how many were finite. */
        private static void summary(ObjectNode node, double[] values) {
            double[] finite = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
            node.put("count", finite.length);
            node.put("mean", finite.length == 0 ? Double.NaN : Arrays.stream(finite).average().orElse(Double.NaN));
            node.put("median", finite.length == 0 ? Double.NaN
                    : finite.length % 2 == 1 ? finite[finite.length / 2] : (finite[finite.length / 2 - 1] + finite[finite.length / 2]) / 2);
        }
    }

    /** Log-probabilities at or below this come from masked logits, never from allowed pairs. */
    private static final float MASKED_LOG_PROB = (float) (Reg4RecModel.MASKED_LOGIT / 2);

    private SearchDiagnostics() {}

    /** The d values reported: 0, 1, 2 and the evaluator's own, those below M. */
    static int[] mismatchLevels(Reg4RecEvaluator evaluator) {
        int m = evaluator.model().config().codebooks();
        return new TreeSet<>(List.of(0, 1, 2, evaluator.maxMismatches())).stream().mapToInt(Integer::intValue).filter(d -> d < m).toArray();
    }

    /**
     * Diagnoses the first {@code maxUsers} examples (0 = all) in batches of {@code batchUsers}, with
     * the model in eval mode for the duration; {@code progress} hears the users done.
     */
    public static Report run(Reg4RecEvaluator evaluator, LeaveOneOut.Examples examples, int batchUsers, int maxUsers, IntConsumer progress) {
        if (batchUsers < 1) throw new IllegalArgumentException("SearchDiagnostics: batchUsers must be >= 1, got " + batchUsers);
        Reg4RecModel model = evaluator.model();
        int users = maxUsers > 0 ? Math.min(maxUsers, examples.size()) : examples.size();
        int m = model.config().codebooks(), numItems = model.catalog().numItems();
        int[] levels = mismatchLevels(evaluator);
        RankingMetrics[] metrics = new RankingMetrics[levels.length];
        for (int i = 0; i < levels.length; i++) metrics[i] = new RankingMetrics("d=" + levels[i]);
        int[][] targetRanks = new int[levels.length][users];
        int[] shortLists = new int[levels.length], shortBeforeFill = new int[levels.length];
        UserDiagnosis[] diagnoses = new UserDiagnosis[users];
        boolean wasTraining = model.isTraining();
        model.eval();
        try (NoGrad ignored = NoGrad.enter()) {
            // the batches RankingEvaluation forms, so the beams are the evaluator's own
            Integer[] byLength = new Integer[users];
            for (int u = 0; u < users; u++) byLength[u] = u;
            Arrays.sort(byLength, java.util.Comparator.comparingInt(u -> examples.histories()[u].length));
            for (int from = 0; from < users; from += batchUsers) {
                int to = Math.min(users, from + batchUsers), n = to - from;
                int[][] histories = new int[n][];
                int[] targets = new int[n];
                for (int i = 0; i < n; i++) {
                    histories[i] = examples.histories()[byLength[from + i]];
                    targets[i] = examples.targets()[byLength[from + i]];
                }
                try (Scope scope = Scope.open()) {
                    OraclePaths oracle = oraclePaths(model, evaluator.constraint(), histories, targets);
                    PrefixTracker tracker = new PrefixTracker(model.catalog(), targets, oracle.orders());
                    List<List<DecodedPath>> beams = evaluator.beamSearch(histories, tracker);
                    for (int i = 0; i < n; i++) {
                        int example = byLength[from + i];
                        List<DecodedPath> userBeams = beams.get(i);
                        diagnoses[example] = diagnose(example, targets[i], model.catalog().tokens(targets[i]), userBeams, evaluator.beamWidth(),
                                oracle.orders()[i], oracle.stepLogProbs()[i], tracker.prefixKept[i], tracker.anyPrefixKept[i]);
                        for (int l = 0; l < levels.length; l++) {
                            int[] top = evaluator.rankBeams(userBeams, levels[l], RankingEvaluation.TOP_K);
                            metrics[l].add(top, targets[i]);
                            if (top.length < RankingEvaluation.TOP_K) shortLists[l]++;
                            if (evaluator.retrieval().rankPaths(userBeams, levels[l], RankingEvaluation.TOP_K).length < RankingEvaluation.TOP_K) shortBeforeFill[l]++;
                            int[] all = evaluator.rankBeams(userBeams, levels[l], numItems);
                            targetRanks[l][example] = indexOf(all, targets[i]) + 1;
                        }
                    }
                }
                if (progress != null) progress.accept(to);
            }
        } finally {
            if (wasTraining) model.train();
        }
        List<Retrieval> retrievals = new ArrayList<>();
        for (int l = 0; l < levels.length; l++) retrievals.add(new Retrieval(levels[l], metrics[l], targetRanks[l], shortLists[l], shortBeforeFill[l]));
        return new Report(evaluator.beamWidth(), m, evaluator.catalogBeams(), List.of(diagnoses), retrievals);
    }

    private static UserDiagnosis diagnose(int example, int target, int[] targetTokens, List<DecodedPath> beams, int beamWidth, int[] order,
                                          double[] stepLogProbs, boolean[] prefixKept, boolean[] anyPrefixKept) {
        int rank = -1;
        for (int b = 0; b < beams.size() && rank < 0; b++) if (Arrays.equals(beams.get(b).tokens(), targetTokens)) rank = b;
        double targetLogProb = 0;
        for (double lp : stepLogProbs) targetLogProb += lp;
        double top = beams.isEmpty() ? Double.NaN : beams.get(0).score();
        double last = beams.isEmpty() ? Double.NaN : beams.get(beams.size() - 1).score();
        Outcome outcome;
        if (rank >= 0) outcome = Outcome.HIT;
        else if (targetLogProb == Double.NEGATIVE_INFINITY) outcome = Outcome.MODEL_ERROR;   // the constraint forbids the target: no search could keep it
        else if (beams.size() < beamWidth || targetLogProb >= last) outcome = Outcome.SEARCH_ERROR;
        else outcome = Outcome.MODEL_ERROR;
        return new UserDiagnosis(example, target, rank, beams.size(), order, stepLogProbs, targetLogProb, top, last, prefixKept, anyPrefixKept, outcome);
    }

    private static int indexOf(int[] items, int item) {
        for (int i = 0; i < items.length; i++) if (items[i] == item) return i;
        return -1;
    }

    // ---------------------------------------------------------------- oracle confidence order

    /** Per user: the oracle order (codebook per step) and the target pair's log-probability at each step. */
    record OraclePaths(int[][] orders, double[][] stepLogProbs) {}

    /**
     * One incremental pass fed the targets' own pairs. Per step only the [users, M] logits and
     * log-probabilities of the target pairs cross to the host. The next codebook is the unused one
     * whose target logit is highest (as in DecodingOrders.targetConfidence: all pairs share one
     * softmax, and a constraint's renormalisation divides the allowed ones by the same sum, so
     * logits rank them as their probabilities do); pairs a constraint forbids are passed over, and
     * a user whose remaining target pairs are all forbidden gets -Infinity log-probabilities.
     */
    static OraclePaths oraclePaths(Reg4RecModel model, CrssDecoder.PairConstraint constraint, int[][] histories, int[] targets) {
        int users = targets.length, m = model.config().codebooks(), dCodes = model.config().codewords();
        ItemCatalog catalog = model.catalog();
        int[][] orders = new int[users][m];
        double[][] stepLogProbs = new double[users][m];
        int[][] prefixes = new int[users][m];
        for (int[] p : prefixes) Arrays.fill(p, -1);
        int[] used = new int[users], inCodebook = new int[users], inToken = new int[users];
        long[] targetPairs = new long[users * m];
        for (int u = 0; u < users; u++) {
            for (int c = 0; c < m; c++) targetPairs[u * m + c] = (long) c * dCodes + catalog.token(targets[u], c);
        }
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open();
             Tensor pairIndex = Tensor.of(model.device(), targetPairs, users, m);
             DecoderCache cache = model.startDecoding(model.encode(histories))) {
            for (int s = 0; s < m; s++) {
                float[] targetLogits, targetLogProbs;
                try (Scope step = Scope.open()) {
                    Reg4RecModel.StepOutput out = model.decodeStep(cache, inCodebook, inToken);
                    Variable lp;
                    if (constraint == null) {
                        try (Tensor mask = model.disallowedCodebooks(used, s)) {
                            lp = model.maskedLogProbs(out.tokenLogits(), mask);
                        }
                    } else {
                        try (Tensor mask = constrainedPairMask(model, constraint, prefixes, used, s)) {
                            lp = model.maskedPairLogProbs(out.tokenLogits(), mask);
                        }
                    }
                    targetLogits = out.tokenLogits().data().gather(1, pairIndex).toFloatArray();
                    targetLogProbs = lp.data().gather(1, pairIndex).toFloatArray();
                }
                for (int u = 0; u < users; u++) {
                    int best = -1, bestAllowed = -1;
                    for (int c = 0; c < m; c++) {
                        if (model.isDisallowed(used[u], s, c)) continue;
                        float v = targetLogits[u * m + c];
                        if (best < 0 || v > targetLogits[u * m + best]) best = c;
                        if (targetLogProbs[u * m + c] > MASKED_LOG_PROB && (bestAllowed < 0 || v > targetLogits[u * m + bestAllowed])) bestAllowed = c;
                    }
                    int c = bestAllowed >= 0 ? bestAllowed : best;
                    orders[u][s] = c;
                    stepLogProbs[u][s] = bestAllowed >= 0 ? targetLogProbs[u * m + c] : Double.NEGATIVE_INFINITY;
                    used[u] |= 1 << c;
                    inCodebook[u] = c;
                    inToken[u] = catalog.token(targets[u], c);
                    prefixes[u][c] = inToken[u];
                }
            }
        }
        return new OraclePaths(orders, stepLogProbs);
    }

    /** F32 [users, M*D], 1 on every pair a row may not take: a disallowed codebook or a token the constraint forbids after the row's prefix. */
    private static Tensor constrainedPairMask(Reg4RecModel model, CrssDecoder.PairConstraint constraint, int[][] prefixes, int[] used, int step) {
        int m = model.config().codebooks(), dCodes = model.config().codewords(), pairs = m * dCodes, rows = prefixes.length;
        float[] mask = new float[rows * pairs];
        Arrays.fill(mask, 1f);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < m; c++) {
                if (model.isDisallowed(used[r], step, c)) continue;
                int base = r * pairs + c * dCodes;
                int[] allowed = constraint.allowedTokens(prefixes[r].clone(), step, c);
                if (allowed == null) Arrays.fill(mask, base, base + dCodes, 0f);
                else for (int t : allowed) mask[base + t] = 0f;
            }
        }
        return Tensor.of(model.device(), mask, rows, pairs);
    }

    // ---------------------------------------------------------------- step survival

    /** Records, per user and step, whether the kept beams still hold the target's oracle prefix (and any target-only prefix). */
    private static final class PrefixTracker implements CrssDecoder.StepListener {
        final boolean[][] prefixKept, anyPrefixKept;
        private final int[][] targetTokens;
        private final int[][] orders;

        PrefixTracker(ItemCatalog catalog, int[] targets, int[][] orders) {
            int users = targets.length, m = catalog.codebooks();
            this.prefixKept = new boolean[users][m];
            this.anyPrefixKept = new boolean[users][m];
            this.targetTokens = new int[users][];
            for (int u = 0; u < users; u++) targetTokens[u] = catalog.tokens(targets[u]);
            this.orders = orders;
        }

        @Override
        public void keptAfterStep(int step, List<List<DecodedPath>> keptPerUser) {
            for (int u = 0; u < keptPerUser.size(); u++) {
                int[] prefix = new int[targetTokens[u].length];
                Arrays.fill(prefix, -1);
                for (int s = 0; s <= step; s++) prefix[orders[u][s]] = targetTokens[u][orders[u][s]];
                for (DecodedPath beam : keptPerUser.get(u)) {
                    if (Arrays.equals(beam.tokens(), prefix)) prefixKept[u][step] = true;
                    if (onlyTargetPairs(beam.tokens(), targetTokens[u])) anyPrefixKept[u][step] = true;
                }
            }
        }

        private static boolean onlyTargetPairs(int[] tokens, int[] target) {
            for (int c = 0; c < tokens.length; c++) if (tokens[c] >= 0 && tokens[c] != target[c]) return false;
            return true;
        }
    }
}
