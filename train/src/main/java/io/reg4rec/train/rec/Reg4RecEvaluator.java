package io.reg4rec.train.rec;

import io.reg4rec.model.rec.CatalogSetConstraint;
import io.reg4rec.model.rec.CrssDecoder;
import io.reg4rec.model.rec.DecodedPath;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.rec.RelaxedRetrieval;

import java.util.List;

/**
 * REG4Rec's ranking (SPEC sections 3, 4, 9): CRSS beam search over a batch of users (beams holding
 * the same token set in different orders merged, scores combined by log-sum-exp), then relaxed
 * retrieval of each user's beams, best first: items matching a beam on at least M - d codebooks,
 * exact matches first, ties by training popularity; short lists are filled at d + 1, d + 2, ... History items are not excluded
 * ({@link RankingEvaluation} says why). Use {@link RankingEvaluation} for metrics; one instance per
 * thread (relaxed retrieval keeps scratch arrays).
 */
public final class Reg4RecEvaluator implements Ranker {
    /** Defaults: beam width 20, d = 1 mismatch allowed. */
    public static final int DEFAULT_BEAM = 20, DEFAULT_MISMATCHES = 1;

    private final Reg4RecModel model;
    private final CrssDecoder decoder;
    private final RelaxedRetrieval retrieval;
    private final int beamWidth;
    private final int maxMismatches;
    private final CrssDecoder.PairConstraint constraint;

    /**
     * @param catalogBeams beams only extend towards catalog items' token sets ({@link CatalogSetConstraint}), so each
     *                     finished beam is an item; otherwise free CRSS beams, mapped to items by relaxed retrieval alone
     * @param itemPrior    tie-break score per item id (e.g. {@link Catalogs#trainingPopularity}), null for item id order
     */
    public Reg4RecEvaluator(Reg4RecModel model, int beamWidth, int maxMismatches, boolean catalogBeams, double[] itemPrior) {
        if (beamWidth < 1) throw new IllegalArgumentException("Reg4RecEvaluator: beam width must be >= 1, got " + beamWidth);
        int m = model.config().codebooks();
        if (maxMismatches < 0 || maxMismatches >= m) {
            throw new IllegalArgumentException("Reg4RecEvaluator: mismatches d must be in [0, M) = [0, " + m + "), got " + maxMismatches);
        }
        this.model = model;
        this.decoder = new CrssDecoder(model);
        this.retrieval = new RelaxedRetrieval(model.catalog(), itemPrior);
        this.beamWidth = beamWidth;
        this.maxMismatches = maxMismatches;
        this.constraint = catalogBeams ? new CatalogSetConstraint(model.catalog()) : null;
    }

    /**
     * Relaxed retrieval at d first; when the beams retrieve fewer than topK items there, the list
     * is filled by relaxing further (d + 1, d + 2, ... up to M - 1 mismatches, each tier over all
     * beams best first, items already placed skipped), so a user always gets topK items. The
     * filling never reorders the items found at d: it only replaces empty slots, which count as
     * misses otherwise (with M = 8, a beam whose tokens are no item's within one mismatch
     * retrieves nothing at d = 1).
     */
    @Override
    public int[][] rank(int[][] histories, int topK) {
        List<List<DecodedPath>> beams = beamSearch(histories, null);
        int[][] out = new int[histories.length][];
        for (int u = 0; u < out.length; u++) out[u] = rankBeams(beams.get(u), maxMismatches, topK);
        return out;
    }

    /** The beam search {@link #rank} runs (this evaluator's width, merge rule and constraint); a non-null listener hears every step's kept beams. */
    List<List<DecodedPath>> beamSearch(int[][] histories, CrssDecoder.StepListener listener) {
        return decoder.beamSearch(histories, beamWidth, CrssDecoder.MergeRule.LOG_SUM_EXP, false, constraint, listener);
    }

    /** One user's list from its beams as {@link #rank} builds it, at d = {@code mismatches} (filled at d + 1, d + 2, ... when short). */
    int[] rankBeams(List<DecodedPath> beams, int mismatches, int topK) {
        int m = model.config().codebooks();
        int[] ranked = retrieval.rankPaths(beams, mismatches, topK);
        for (int d = mismatches + 1; ranked.length < topK && d < m; d++) ranked = append(ranked, retrieval.rankPaths(beams, d, topK), topK);
        return ranked;
    }

    /** first, then the items of more not yet in it, up to limit. */
    private static int[] append(int[] first, int[] more, int limit) {
        int[] out = java.util.Arrays.copyOf(first, limit);
        int size = first.length;
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int item : first) seen.add(item);
        for (int item : more) {
            if (size == limit) break;
            if (seen.add(item)) out[size++] = item;
        }
        return java.util.Arrays.copyOf(out, size);
    }

    public int beamWidth() { return beamWidth; }

    public int maxMismatches() { return maxMismatches; }

    public boolean catalogBeams() { return constraint != null; }

    /** The constraint on the beams' pairs, null for free CRSS beams. */
    CrssDecoder.PairConstraint constraint() { return constraint; }

    Reg4RecModel model() { return model; }

    RelaxedRetrieval retrieval() { return retrieval; }
}
