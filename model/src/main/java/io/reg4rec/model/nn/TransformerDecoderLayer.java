package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * A pre-norm decoder layer: causal self-attention, cross-attention over the encoder's memory,
 * then the feed-forward block, each as x + dropout(sublayer(norm(x))).
 */
public final class TransformerDecoderLayer extends Module {
    private final LayerNorm norm1;
    private final MultiHeadAttention selfAttn;
    private final LayerNorm norm2;
    private final MultiHeadAttention crossAttn;
    private final LayerNorm norm3;
    private final FeedForward ff;
    private final Dropout dropout;

    public TransformerDecoderLayer(Device device, TransformerConfig c, long seed) {
        this.norm1 = registerModule("norm1", new LayerNorm(device, c.dModel(), c.layerNormEps()));
        this.selfAttn = registerModule("self_attn", new MultiHeadAttention(device, c.dModel(), c.heads(), c.dropout(), Init.childSeed(seed, 0)));
        this.norm2 = registerModule("norm2", new LayerNorm(device, c.dModel(), c.layerNormEps()));
        this.crossAttn = registerModule("cross_attn", new MultiHeadAttention(device, c.dModel(), c.heads(), c.dropout(), Init.childSeed(seed, 1)));
        this.norm3 = registerModule("norm3", new LayerNorm(device, c.dModel(), c.layerNormEps()));
        this.ff = registerModule("ff", new FeedForward(device, c.dModel(), c.dFeedForward(), c.activation(), c.dropout(), Init.childSeed(seed, 2)));
        this.dropout = registerModule("dropout", new Dropout(c.dropout(), Init.childSeed(seed, 3)));
    }

    /**
     * x [batch, tq, d] (causal over tq), memory [batch, tk, d]; targetPadding [batch, tq] and
     * memoryPadding [batch, tk] (1 = padding) may be null.
     */
    public Variable forward(Variable x, Tensor targetPadding, Variable memory, Tensor memoryPadding) {
        // the output projections' biases are added inside the residual dropouts
        Variable a = norm1.forward(x);
        Variable h = dropout.addTo(x, selfAttn.forwardWithoutOutputBias(a, a, targetPadding, true), selfAttn.outputBias());
        h = dropout.addTo(h, crossAttn.forwardWithoutOutputBias(norm2.forward(h), memory, memoryPadding, false), crossAttn.outputBias());
        return dropout.addTo(h, ff.forwardWithoutOutputBias(norm3.forward(h)), ff.outputBias());
    }

    // ---- incremental decoding (key/value cache)

    /** Cross-attention keys and values of the encoder memory [groups, tk, d], projected once per decode. */
    MultiHeadAttention.ProjectedKeyValue projectMemory(Variable memory) {
        return crossAttn.projectKeyValue(memory);
    }

    /**
     * One decoding position for every row: x [rows, 1, d] is the input at position
     * {@code cache.length()}; self-attention sees this layer's cached positions plus this one,
     * cross-attention sees the memory of the row's group. The same sublayers as {@link #forward}.
     */
    Variable step(Variable x, DecoderCache cache, int layer) {
        int rows = x.size(0), d = x.size(2);
        Variable a = norm1.forward(x);
        MultiHeadAttention.ProjectedKeyValue positions = cache.appendSelf(layer, selfAttn.projectKeyValue(a));
        Variable h = x.add(dropout.forward(selfAttn.attendProjected(a, positions, null)));
        Variable query = norm2.forward(h).reshape(cache.groups(), cache.rowsPerGroup(), d);
        Variable context = crossAttn.attendProjected(query, cache.memory(layer), cache.memoryPadding()).reshape(rows, 1, d);
        h = h.add(dropout.forward(context));
        return h.add(dropout.forward(ff.forward(norm3.forward(h))));
    }

    int heads() { return selfAttn.heads(); }
}
