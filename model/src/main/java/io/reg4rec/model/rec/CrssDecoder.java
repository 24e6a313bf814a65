package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.TopK;
import io.reg4rec.model.nn.DecoderCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CRSS decoding (SPEC section 3, Eq. 5) of a {@link Reg4RecModel}, batched over users: one
 * decoder step per position for all beams of all users, with the decoder's key/value cache (each
 * step runs one new position; the encoder memory is projected once per user, not per beam).
 *
 * <p><b>Greedy:</b> at each step take the (codebook, token) pair of highest probability over
 * the unused codebooks, mark the codebook used, M times.
 *
 * <p><b>Beam search:</b> each beam is expanded with its top {@code beamWidth} allowed pairs,
 * scored by the sum of step log-probabilities; candidates that hold the same token set (reached
 * in different orders) are merged into one beam, never counted twice. The merged score is set by
 * {@link MergeRule}: by default the log of the summed probabilities of the merged paths (the
 * probability of generating that set by any of the orders found), or their maximum. A merged
 * beam continues from the decoder state of its best path. Users keep {@code beamWidth} beams
 * each; a user with fewer distinct candidates keeps fewer.
 *
 * <p>The model's mode is respected: a {@link Reg4RecConfig#fixedOrder()} model allows only
 * codebook s at step s. An optional {@link PairConstraint} restricts the tokens a beam may take
 * (the TIGER prefix trie), in which case the step distribution is renormalised over the allowed
 * pairs. Uses the model in whatever mode it is in (call {@code model.eval()} for inference).
 */
public final class CrssDecoder {
    /** How the scores of paths reaching the same token set combine. */
    public enum MergeRule {
        /** log(sum exp(score)): the probability of the set summed over the merged orders. */
        LOG_SUM_EXP,
        /** The best single path's score. */
        MAX
    }

    /** Restricts the tokens a beam may take next (e.g. valid item prefixes). */
    public interface PairConstraint {
        /**
         * The tokens codebook {@code codebook} may take at step {@code step} for a beam holding
         * {@code tokens} (-1 = not yet decoded), or null for all D tokens. An empty array forbids the codebook.
         */
        int[] allowedTokens(int[] tokens, int step, int codebook);
    }

    /**
     * Hears the beams each user keeps after every step of beam search (diagnostics; none by
     * default, so plain decoding builds nothing extra).
     */
    public interface StepListener {
        /**
         * Called after step {@code step} (0-based; the kept beams hold step + 1 pairs) with each
         * user's kept beams, best first, as partial paths (tokens -1 where not yet decoded).
         */
        void keptAfterStep(int step, List<List<DecodedPath>> keptPerUser);
    }

    /** Log-probabilities at or below this come from masked logits ({@link Reg4RecModel#MASKED_LOGIT}), never from allowed pairs. */
    static final float MASKED_LOG_PROB = (float) (Reg4RecModel.MASKED_LOGIT / 2);

    private final Reg4RecModel model;
    private final int codebooks;
    private final int codewords;

    public CrssDecoder(Reg4RecModel model) {
        this.model = model;
        this.codebooks = model.config().codebooks();
        this.codewords = model.config().codewords();
    }

    // ---------------------------------------------------------------- greedy

    /** Greedy CRSS for each history; categoryProbs per step are recorded when asked. */
    public List<DecodedPath> greedy(int[][] histories, boolean recordCategories) {
        int users = histories.length, m = codebooks;
        int[][] tokens = new int[users][m];
        for (int[] t : tokens) Arrays.fill(t, -1);
        int[][] order = new int[users][m];
        double[][] stepLogProbs = new double[users][m];
        float[][][] categories = recordCategories ? new float[users][m][] : null;
        int[] used = new int[users], inCodebook = new int[users], inToken = new int[users];
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open();
             DecoderCache cache = model.startDecoding(model.encode(histories))) {
            for (int s = 0; s < m; s++) {
                long[] best;
                float[] bestLogProb, categoryProbs = null;
                try (Scope step = Scope.open(); Tensor mask = model.disallowedCodebooks(used, s)) {
                    Reg4RecModel.StepOutput out = model.decodeStep(cache, inCodebook, inToken);
                    Tensor lp = model.maskedLogProbs(out.tokenLogits(), mask).data();
                    best = lp.argmax(1, false).toLongArray();
                    bestLogProb = lp.max(1, false).toFloatArray();
                    if (recordCategories) categoryProbs = Reg4RecModel.categoryProbabilities(out.categoryLogits());
                }
                int numCategories = model.config().numCategories();
                for (int u = 0; u < users; u++) {
                    int c = (int) (best[u] / codewords), t = (int) (best[u] % codewords);
                    if (model.isDisallowed(used[u], s, c)) throw new IllegalStateException("CRSS greedy: user " + u + " step " + s + " chose disallowed codebook " + c);
                    tokens[u][c] = t;
                    order[u][s] = c;
                    stepLogProbs[u][s] = bestLogProb[u];
                    used[u] |= 1 << c;
                    inCodebook[u] = c;
                    inToken[u] = t;
                    if (recordCategories) categories[u][s] = Arrays.copyOfRange(categoryProbs, u * numCategories, (u + 1) * numCategories);
                }
            }
        }
        List<DecodedPath> out = new ArrayList<>(users);
        for (int u = 0; u < users; u++) {
            out.add(new DecodedPath(tokens[u], order[u], Arrays.stream(stepLogProbs[u]).sum(), stepLogProbs[u], recordCategories ? categories[u] : null, 1));
        }
        return out;
    }

    // ---------------------------------------------------------------- beam search

    /** Beam search with log-sum-exp merging and no constraint; see {@link #beamSearch(int[][], int, MergeRule, boolean, PairConstraint)}. */
    public List<List<DecodedPath>> beamSearch(int[][] histories, int beamWidth) {
        return beamSearch(histories, beamWidth, MergeRule.LOG_SUM_EXP, false, null);
    }

    /** Per user, up to beamWidth complete token sets, best score first. */
    public List<List<DecodedPath>> beamSearch(int[][] histories, int beamWidth, MergeRule merge, boolean recordCategories, PairConstraint constraint) {
        return beamSearch(histories, beamWidth, merge, recordCategories, constraint, null);
    }

    /** As {@link #beamSearch(int[][], int, MergeRule, boolean, PairConstraint)}; a non-null listener hears the kept beams after every step. */
    public List<List<DecodedPath>> beamSearch(int[][] histories, int beamWidth, MergeRule merge, boolean recordCategories, PairConstraint constraint,
                                              StepListener listener) {
        if (beamWidth <= 0) throw new IllegalArgumentException("CRSS beam search: beam width must be positive, got " + beamWidth);
        int users = histories.length, m = codebooks, pairs = m * codewords, numCategories = model.config().numCategories();
        Beam[][] beams = new Beam[users][];
        for (int u = 0; u < users; u++) beams[u] = new Beam[]{Beam.root(m)};
        int width = 1;
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open();
             DecoderCache cache = model.startDecoding(model.encode(histories))) {
            for (int s = 0; s < m; s++) {
                int rows = users * width;
                int[] used = new int[rows], inCodebook = new int[rows], inToken = new int[rows];
                int[][] allowed = new int[rows * m][];
                for (int u = 0; u < users; u++) {
                    for (int b = 0; b < width; b++) {
                        Beam beam = beams[u][b];
                        int row = u * width + b;
                        if (beam == null) continue;
                        used[row] = beam.used;
                        if (s > 0) {
                            inCodebook[row] = beam.order[s - 1];
                            inToken[row] = beam.tokens[inCodebook[row]];
                        }
                        if (constraint != null) {
                            for (int c = 0; c < m; c++) if (!model.isDisallowed(beam.used, s, c)) allowed[row * m + c] = constraint.allowedTokens(beam.tokens.clone(), s, c);
                        }
                    }
                }
                int k = Math.min(beamWidth, pairs);
                float[] topLogProbs, categoryProbs = null;
                int[] topPairs;
                try (Scope step = Scope.open()) {
                    Reg4RecModel.StepOutput out = model.decodeStep(cache, inCodebook, inToken);
                    Variable lp;
                    if (constraint == null) {
                        try (Tensor mask = model.disallowedCodebooks(used, s)) {
                            lp = model.maskedLogProbs(out.tokenLogits(), mask);
                        }
                    } else {
                        try (Tensor mask = pairMask(used, allowed, s, rows)) {
                            lp = model.maskedPairLogProbs(out.tokenLogits(), mask);
                        }
                    }
                    try (TopK top = lp.data().topk(k)) {   // each row's best k pairs, best first: B values per row cross to the host, not M*D
                        topLogProbs = top.values().toFloatArray();
                        topPairs = (int[]) top.indices().toHost();
                    }
                    if (recordCategories) categoryProbs = Reg4RecModel.categoryProbabilities(out.categoryLogits());
                }
                Beam[][] next = new Beam[users][];
                int[] sources = new int[users * beamWidth];
                for (int u = 0; u < users; u++) {
                    Map<Key, Candidate> pool = new LinkedHashMap<>();
                    for (int b = 0; b < width; b++) {
                        Beam beam = beams[u][b];
                        if (beam == null) continue;
                        int row = u * width + b;
                        if (constraint != null && !anyPairAllowed(beam.used, allowed, row, s)) continue;   // a dead end: its softmax has no allowed pair to rank
                        float[] rowCategories = recordCategories ? Arrays.copyOfRange(categoryProbs, row * numCategories, (row + 1) * numCategories) : null;
                        for (int i = 0; i < k; i++) {
                            float logProb = topLogProbs[row * k + i];
                            if (logProb <= MASKED_LOG_PROB) break;   // disallowed pairs rank last: the rest are disallowed too
                            int pair = topPairs[row * k + i];
                            Candidate cand = new Candidate(beam, row, pair / codewords, pair % codewords, logProb, rowCategories);
                            pool.merge(cand.key, cand, (a, bb) -> a.mergeWith(bb, merge));
                        }
                    }
                    List<Candidate> ranked = new ArrayList<>(pool.values());
                    ranked.sort(Comparator.comparingDouble((Candidate c) -> -c.score));
                    next[u] = new Beam[beamWidth];
                    for (int j = 0; j < beamWidth; j++) {
                        if (j < ranked.size()) {
                            Candidate c = ranked.get(j);
                            next[u][j] = c.toBeam();
                            sources[u * beamWidth + j] = c.row;
                        } else {
                            sources[u * beamWidth + j] = u * width;   // an empty slot: any row of the user's group
                        }
                    }
                }
                beams = next;
                if (listener != null) listener.keptAfterStep(s, paths(beams, recordCategories));
                if (s < m - 1) cache.reorder(sources, beamWidth);
                width = beamWidth;
            }
        }
        return paths(beams, recordCategories);
    }

    /** Each user's non-empty beams as paths, in beam order (best first). */
    private static List<List<DecodedPath>> paths(Beam[][] beams, boolean recordCategories) {
        List<List<DecodedPath>> out = new ArrayList<>(beams.length);
        for (Beam[] userBeams : beams) {
            List<DecodedPath> paths = new ArrayList<>();
            for (Beam b : userBeams) if (b != null) paths.add(b.toPath(recordCategories));
            out.add(paths);
        }
        return out;
    }

    private boolean anyPairAllowed(int used, int[][] allowed, int row, int step) {
        for (int c = 0; c < codebooks; c++) {
            if (model.isDisallowed(used, step, c)) continue;
            int[] tokensAllowed = allowed[row * codebooks + c];
            if (tokensAllowed == null || tokensAllowed.length > 0) return true;
        }
        return false;
    }

    /** F32 [rows, M*D] with 1 on every pair a row may not take (disallowed codebook or token outside the constraint). */
    private Tensor pairMask(int[] used, int[][] allowed, int step, int rows) {
        int m = codebooks, pairs = m * codewords;
        float[] mask = new float[rows * pairs];
        Arrays.fill(mask, 1f);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < m; c++) {
                if (model.isDisallowed(used[r], step, c)) continue;
                int base = r * pairs + c * codewords;
                int[] tokensAllowed = allowed[r * m + c];
                if (tokensAllowed == null) Arrays.fill(mask, base, base + codewords, 0f);
                else for (int t : tokensAllowed) mask[base + t] = 0f;
            }
        }
        return Tensor.of(model.device(), mask, rows, pairs);
    }

    // ---------------------------------------------------------------- beam bookkeeping

    /** A partial path: tokens per codebook, used codebooks, order, score. Immutable once built. */
    static final class Beam {
        final int[] tokens;
        final int used;
        final int[] order;
        final double score;
        final double[] stepLogProbs;
        final float[][] categories;
        final int mergedPaths;

        Beam(int[] tokens, int used, int[] order, double score, double[] stepLogProbs, float[][] categories, int mergedPaths) {
            this.tokens = tokens;
            this.used = used;
            this.order = order;
            this.score = score;
            this.stepLogProbs = stepLogProbs;
            this.categories = categories;
            this.mergedPaths = mergedPaths;
        }

        static Beam root(int m) {
            int[] tokens = new int[m];
            Arrays.fill(tokens, -1);
            return new Beam(tokens, 0, new int[0], 0.0, new double[0], new float[0][], 1);
        }

        DecodedPath toPath(boolean withCategories) {
            return new DecodedPath(tokens.clone(), order.clone(), score, stepLogProbs.clone(), withCategories ? categories.clone() : null, mergedPaths);
        }
    }

    /** The identity of a (partial) token set: tokens per codebook, -1 for undecoded codebooks. */
    record Key(int[] tokens) {
        @Override
        public boolean equals(Object o) { return o instanceof Key k && Arrays.equals(tokens, k.tokens); }

        @Override
        public int hashCode() { return Arrays.hashCode(tokens); }
    }

    /** An expansion of a beam by one pair; merging keeps the best path as the representative. */
    static final class Candidate {
        final Beam parent;
        final int row;
        final int codebook;
        final int token;
        final double stepLogProb;
        final float[] stepCategories;
        final Key key;
        final double pathScore;
        double score;
        int mergedPaths;

        Candidate(Beam parent, int row, int codebook, int token, double stepLogProb, float[] stepCategories) {
            this.parent = parent;
            this.row = row;
            this.codebook = codebook;
            this.token = token;
            this.stepLogProb = stepLogProb;
            this.stepCategories = stepCategories;
            int[] t = parent.tokens.clone();
            t[codebook] = token;
            this.key = new Key(t);
            this.pathScore = parent.score + stepLogProb;
            this.score = pathScore;
            this.mergedPaths = parent.mergedPaths;
        }

        /** Combines two candidates for the same set; the one with the better own path represents both. */
        Candidate mergeWith(Candidate other, MergeRule rule) {
            Candidate keep = other.pathScore > pathScore ? other : this;
            Candidate drop = keep == this ? other : this;
            keep.score = rule == MergeRule.MAX ? Math.max(keep.score, drop.score) : logSumExp(keep.score, drop.score);
            keep.mergedPaths = keep.mergedPaths + drop.mergedPaths;
            return keep;
        }

        Beam toBeam() {
            int steps = parent.order.length;
            int[] order = Arrays.copyOf(parent.order, steps + 1);
            order[steps] = codebook;
            double[] lps = Arrays.copyOf(parent.stepLogProbs, steps + 1);
            lps[steps] = stepLogProb;
            float[][] cats = Arrays.copyOf(parent.categories, steps + 1);
            cats[steps] = stepCategories;
            return new Beam(key.tokens(), parent.used | (1 << codebook), order, score, lps, cats, mergedPaths);
        }
    }

    static double logSumExp(double a, double b) {
        double hi = Math.max(a, b), lo = Math.min(a, b);
        if (hi == Double.NEGATIVE_INFINITY) return hi;
        return hi + Math.log1p(Math.exp(lo - hi));
    }

}
