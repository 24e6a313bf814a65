package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.DecoderCache;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Decoding orders for teacher-forced pre-training ("CRSS diversifies path combinations"): each
 * order is a permutation of the M codebooks, order[s] being the codebook decoded at step s.
 */
public final class DecodingOrders {
    private DecodingOrders() {}

    /** 0, 1, ..., M-1 for every example (fixed order). */
    public static int[][] identity(int examples, int codebooks) {
        int[][] out = new int[examples][codebooks];
        for (int[] o : out) for (int s = 0; s < codebooks; s++) o[s] = s;
        return out;
    }

    /** Uniformly random permutations (Fisher-Yates). */
    public static int[][] random(int examples, int codebooks, SplittableRandom rng) {
        int[][] out = identity(examples, codebooks);
        for (int[] o : out) {
            for (int i = codebooks - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
        }
        return out;
    }

    /**
     * The order free-running greedy CRSS picks for each history (no gradient): the model's own
     * most-confident-first order. The tokens it would choose are ignored; only the codebook order
     * is kept for teacher forcing the target.
     */
    public static int[][] greedyCrss(Reg4RecModel model, int[][] histories) {
        List<DecodedPath> paths = new CrssDecoder(model).greedy(histories, false);
        int[][] out = new int[paths.size()][];
        for (int u = 0; u < out.length; u++) out[u] = paths.get(u).order().clone();
        return out;
    }

    /**
     * The teacher-forced confidence order (no gradient): the decoder is fed the target's own
     * tokens, and at each step the next codebook is the unused one whose target token has the
     * highest probability under the step distribution. Unlike {@link #greedyCrss} the prefix is
     * always the target's, as in the teacher-forced loss that uses the order. All codebooks share
     * one softmax, so comparing the target pairs' logits ranks them as their probabilities would:
     * per step only the [users, M] target logits are gathered on the device and read.
     */
    public static int[][] targetConfidence(Reg4RecModel model, int[][] histories, int[] targets) {
        int users = targets.length, m = model.config().codebooks(), dCodes = model.config().codewords();
        ItemCatalog catalog = model.catalog();
        int[][] orders = new int[users][m];
        int[] used = new int[users], inCodebook = new int[users], inToken = new int[users];
        long[] targetPairs = new long[users * m];
        for (int u = 0; u < users; u++) {
            for (int c = 0; c < m; c++) targetPairs[u * m + c] = (long) c * dCodes + catalog.token(targets[u], c);
        }
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open();
             Tensor pairIndex = Tensor.of(model.device(), targetPairs, users, m);
             DecoderCache cache = model.startDecoding(model.encode(histories))) {
            for (int s = 0; s < m; s++) {
                float[] targetLogits;
                try (Scope step = Scope.open()) {
                    Reg4RecModel.StepOutput out = model.decodeStep(cache, inCodebook, inToken);
                    targetLogits = out.tokenLogits().data().gather(1, pairIndex).toFloatArray();
                }
                for (int u = 0; u < users; u++) {
                    int best = -1;
                    float bestLogit = Float.NEGATIVE_INFINITY;
                    for (int c = 0; c < m; c++) {
                        if (model.isDisallowed(used[u], s, c)) continue;
                        float v = targetLogits[u * m + c];
                        if (best < 0 || v > bestLogit) {
                            bestLogit = v;
                            best = c;
                        }
                    }
                    orders[u][s] = best;
                    used[u] |= 1 << best;
                    inCodebook[u] = best;
                    inToken[u] = catalog.token(targets[u], best);
                }
            }
        }
        return orders;
    }
}
