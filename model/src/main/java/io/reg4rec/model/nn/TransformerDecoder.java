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
}
