package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * A pre-norm encoder layer: x + dropout(selfAttention(norm1(x))), then
 * x + dropout(feedForward(norm2(x))).
 */
public final class TransformerEncoderLayer extends Module {
    private final LayerNorm norm1;
    private final MultiHeadAttention attn;
    private final LayerNorm norm2;
    private final FeedForward ff;
    private final Dropout dropout;

    public TransformerEncoderLayer(Device device, TransformerConfig c, long seed) {
        this.norm1 = registerModule("norm1", new LayerNorm(device, c.dModel(), c.layerNormEps()));
        this.attn = registerModule("attn", new MultiHeadAttention(device, c.dModel(), c.heads(), c.dropout(), Init.childSeed(seed, 0)));
        this.norm2 = registerModule("norm2", new LayerNorm(device, c.dModel(), c.layerNormEps()));
        this.ff = registerModule("ff", new FeedForward(device, c.dModel(), c.dFeedForward(), c.activation(), c.dropout(), Init.childSeed(seed, 1)));
        this.dropout = registerModule("dropout", new Dropout(c.dropout(), Init.childSeed(seed, 2)));
    }

    /** x [batch, len, d]; padding [batch, len] (1 = padding) or null. */
    public Variable forward(Variable x, Tensor padding) {
        return forward(x, padding, false);
    }

    /** As {@link #forward(Variable, Tensor)}, with causal self-attention when asked (position i sees 0..i). */
    public Variable forward(Variable x, Tensor padding, boolean causal) {
        // the output projections' biases are added inside the residual dropouts
        Variable a = norm1.forward(x);
        Variable h = dropout.addTo(x, attn.forwardWithoutOutputBias(a, a, padding, causal), attn.outputBias());
        return dropout.addTo(h, ff.forwardWithoutOutputBias(norm2.forward(h)), ff.outputBias());
    }
}
