package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/** A stack of pre-norm decoder layers with a final LayerNorm. */
public final class TransformerDecoder extends Module {
    private final List<TransformerDecoderLayer> layers = new ArrayList<>();
    private final LayerNorm norm;

    public TransformerDecoder(Device device, TransformerConfig c, int layerCount, long seed) {
        ModuleList list = registerModule("layers", new ModuleList());
        for (int i = 0; i < layerCount; i++) layers.add(list.add(new TransformerDecoderLayer(device, c, Init.childSeed(seed, i))));
        this.norm = registerModule("norm", new LayerNorm(device, c.dModel(), c.layerNormEps()));
    }

    public Variable forward(Variable x, Tensor targetPadding, Variable memory, Tensor memoryPadding) {
        Variable h = x;
        for (TransformerDecoderLayer layer : layers) h = layer.forward(h, targetPadding, memory, memoryPadding);
        return norm.forward(h);
    }

    // ---- incremental decoding (key/value cache)

    /**
     * A cache for decoding one position at a time over memory [groups, tk, d] (memoryPadding
     * [groups, tk] or null), one row per group to start with. Under NoGrad only.
     */
    public DecoderCache startCache(Variable memory, Tensor memoryPadding) {
        DecoderCache.requireNoGrad("TransformerDecoder.startCache");
        if (memory.rank() != 3) throw new IllegalArgumentException("TransformerDecoder.startCache: memory must be [groups, len, d], got " + memory.data().describe());
        MultiHeadAttention.ProjectedKeyValue[] projected = new MultiHeadAttention.ProjectedKeyValue[layers.size()];
        for (int i = 0; i < layers.size(); i++) projected[i] = layers.get(i).projectMemory(memory);
        return new DecoderCache(memory.size(0), layers.isEmpty() ? 1 : layers.get(0).heads(), projected, memoryPadding);
    }

    /**
     * The decoder output [rows, 1, d] at position {@code cache.length()} for inputs x [rows, 1, d]
     * (already embedded), equal to the last position of {@link #forward} over the whole prefix;
     * advances the cache by one position.
     */
    public Variable step(Variable x, DecoderCache cache) {
        DecoderCache.requireNoGrad("TransformerDecoder.step");
        if (x.rank() != 3 || x.size(1) != 1 || x.size(0) != cache.rows()) {
            throw new IllegalArgumentException("TransformerDecoder.step: input must be [" + cache.rows() + ", 1, d], got " + x.data().describe());
        }
        Variable h = x;
        for (int i = 0; i < layers.size(); i++) h = layers.get(i).step(h, cache, i);
        cache.advance();
        return norm.forward(h);
    }
}
