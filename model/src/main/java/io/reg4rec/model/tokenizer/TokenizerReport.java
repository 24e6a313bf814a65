package io.reg4rec.model.tokenizer;

import java.util.Arrays;
import java.util.Locale;

/**
 * What a training run achieved, measured after training on all items with the final weights.
 * Losses are per item (summed over features or latent dimensions, averaged over items).
 *
 * @param kind               "mpq" or "rqvae"
 * @param reconLoss          mean ||v - dec(q)||^2
 * @param baselineReconLoss  mean ||v - mean(v)||^2: what predicting the mean feature vector scores
 * @param orthLoss           ||W̄ᵀW̄ - I||_F^2 (MPQ), NaN for RQ-VAE
 * @param reseeded           per codebook: dead codewords re-seeded during training
 * @param epochLosses        per epoch: the mean total training loss
 */
public record TokenizerReport(String kind, int numItems, double reconLoss, double baselineReconLoss, double orthLoss,
                              TokenStats tokens, int[] reseeded, double[] epochLosses, long steps, double trainSeconds) {

    /** reconLoss / baselineReconLoss: 1 is no better than the mean, 0 is perfect. */
    public double relativeReconLoss() {
        return reconLoss / baselineReconLoss;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "%s: %d items, recon %.4f (baseline %.4f, ratio %.3f), orth %.4f, utilisation %s, perplexity %s, collisions %.4f "
                        + "(%d distinct sets, largest group %d), reseeded %s, %d steps in %.1f s",
                kind, numItems, reconLoss, baselineReconLoss, relativeReconLoss(), orthLoss, format(tokens.utilisation()),
                format(tokens.perplexity()), tokens.collisionRate(), tokens.distinctTokenSets(), tokens.largestGroup(),
                Arrays.toString(reseeded), steps, trainSeconds);
    }

    private static String format(double[] values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", values[i]));
        return b.append(']').toString();
    }
}
