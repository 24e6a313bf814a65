package io.reg4rec.model.rec;

import io.reg4rec.model.nn.TransformerConfig;

/**
 * Sizes of the SASRec baseline.
 *
 * @param numItems     items 1..numItems (0 is padding)
 * @param maxLength    most recent items the model sees
 * @param dModel       width
 * @param heads        attention heads
 * @param dFeedForward feed-forward width
 * @param layers       self-attention blocks
 * @param dropout      dropout on embeddings, sublayers and attention weights
 */
public record SasRecConfig(int numItems, int maxLength, int dModel, int heads, int dFeedForward, int layers, double dropout) {
    public SasRecConfig {
        if (numItems <= 0 || maxLength <= 0 || layers <= 0 || !(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("SasRecConfig: needs positive items, length, layers and dropout in [0, 1), got " + numItems + ", " + maxLength + ", " + layers + ", " + dropout);
        }
        new TransformerConfig(dModel, heads, dFeedForward, dropout);
    }

    /** Width 64, 2 heads, FFN 256, 2 blocks, dropout 0.2, the last 50 items. */
    public static SasRecConfig defaults(int numItems) {
        return new SasRecConfig(numItems, 50, 64, 2, 256, 2, 0.2);
    }

    public TransformerConfig transformer() {
        return new TransformerConfig(dModel, heads, dFeedForward, dropout);
    }
}
