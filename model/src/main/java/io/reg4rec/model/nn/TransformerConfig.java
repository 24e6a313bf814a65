package io.reg4rec.model.nn;

/**
 * Sizes shared by the transformer layers: model width, heads, feed-forward width, dropout
 * (applied to sublayer outputs, inside the feed-forward block and to attention weights),
 * activation and LayerNorm epsilon.
 */
public record TransformerConfig(int dModel, int heads, int dFeedForward, double dropout, Activation activation, double layerNormEps) {
    public TransformerConfig {
        if (dModel <= 0 || heads <= 0 || dModel % heads != 0 || dFeedForward <= 0) {
            throw new IllegalArgumentException("TransformerConfig: needs positive sizes with width divisible by heads, got d=" + dModel + ", heads=" + heads + ", ff=" + dFeedForward);
        }
    }

    public TransformerConfig(int dModel, int heads, int dFeedForward, double dropout) {
        this(dModel, heads, dFeedForward, dropout, Activation.GELU, 1e-5);
    }
}
