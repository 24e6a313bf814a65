package io.reg4rec.train.rec;

import io.reg4rec.model.rec.CrssDecoder;
import io.reg4rec.model.rec.DecodedPath;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.rec.RelaxedRetrieval;

import java.util.List;

/**
 * REG4Rec's ranking (SPEC sections 3, 4, 9): CRSS beam search over a batch of users (beams holding
 * the same token set in different orders merged, scores combined by log-sum-exp), then relaxed
 * retrieval of each user's beams, best first: items matching a beam on at least M - d codebooks,
 * exact matches first, ties by training popularity. History items are not excluded
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

    /** @param itemPrior tie-break score per item id (e.g. {@link Catalogs#trainingPopularity}), null for item id order */
    public Reg4RecEvaluator(Reg4RecModel model, int beamWidth, int maxMismatches, double[] itemPrior) {
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
    }

    @Override
    public int[][] rank(int[][] histories, int topK) {
        List<List<DecodedPath>> beams = decoder.beamSearch(histories, beamWidth, CrssDecoder.MergeRule.LOG_SUM_EXP, false, null);
        int[][] out = new int[histories.length][];
        for (int u = 0; u < out.length; u++) out[u] = retrieval.rankPaths(beams.get(u), maxMismatches, topK);
        return out;
    }

    public int beamWidth() { return beamWidth; }

    public int maxMismatches() { return maxMismatches; }
}
