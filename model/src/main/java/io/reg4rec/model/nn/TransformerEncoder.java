package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/** A stack of pre-norm encoder layers with the final LayerNorm that pre-norm needs. */
public final class TransformerEncoder extends Module {
    private final List<TransformerEncoderLayer> layers = new ArrayList<>();
    private final LayerNorm norm;

    public TransformerEncoder(Device device, TransformerConfig c, int layerCount, long seed) {
        ModuleList list = registerModule("layers", new ModuleList());
        for (int i = 0; i < layerCount; i++) layers.add(list.add(new TransformerEncoderLayer(device, c, Init.childSeed(seed, i))));
        this.norm = registerModule("norm", new LayerNorm(device, c.dModel(), c.layerNormEps()));
    }

    public Variable forward(Variable x, Tensor padding) {
        return forward(x, padding, false);
    }

    /** x [batch, len, d], padding [batch, len] or null; causal: position i attends to 0..i only (SASRec). */
    public Variable forward(Variable x, Tensor padding, boolean causal) {
        Variable h = x;
        for (TransformerEncoderLayer layer : layers) h = layer.forward(h, padding, causal);
        return norm.forward(h);
    }
}
