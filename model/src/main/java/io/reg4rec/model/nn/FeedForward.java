package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;

/** The position-wise feed-forward block: Linear(d, ff), activation, dropout, Linear(ff, d). */
public final class FeedForward extends Module {
    private final Linear up;
    private final Linear down;
    private final Activation activation;
    private final Dropout dropout;

    public FeedForward(Device device, int dModel, int dFeedForward, Activation activation, double dropout, long seed) {
        this.up = registerModule("up", new Linear(device, dModel, dFeedForward, true, Init.childSeed(seed, 0)));
        this.down = registerModule("down", new Linear(device, dFeedForward, dModel, true, Init.childSeed(seed, 1)));
        this.dropout = registerModule("dropout", new Dropout(dropout, Init.childSeed(seed, 2)));
        this.activation = activation;
    }

    /** {@link #forward} without the down projection's bias ({@link #outputBias()}), for callers that fuse it into the next op. */
    public Variable forwardWithoutOutputBias(Variable x) {
        Variable hidden = activation == Activation.GELU ? up.forwardWithoutBias(x).biasGelu(up.bias()) : activation.apply(up.forward(x));
        return down.forwardWithoutBias(dropout.forward(hidden));
    }

    /** The down projection's bias. */
    public Variable outputBias() { return down.bias(); }

    public Variable forward(Variable x) {
        // GELU takes the up projection's bias into one fused op each way
        Variable hidden = activation == Activation.GELU ? up.forwardWithoutBias(x).biasGelu(up.bias()) : activation.apply(up.forward(x));
        return down.forward(dropout.forward(hidden));
    }
}
