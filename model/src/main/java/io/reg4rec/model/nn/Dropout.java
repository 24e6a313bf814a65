package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.CounterRng;

/**
 * Inverted dropout: in training mode each element is kept with probability 1 - p and scaled by
 * 1 / (1 - p); in eval mode (or with p = 0) the input passes through unchanged.
 *
 * <p>Applied as one fused op ({@link Variable#dropout}). The mask is a counter-based draw: call number c of this layer uses the seed
 * mix(layer seed, c), so a run with the same seeds and the same sequence of calls draws the same
 * masks on every backend, with no generator state beyond the call counter.
 */
public final class Dropout extends Module {
    private final double p;
    private final long seed;
    private long calls;

    public Dropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.seed = seed;
    }

    public Variable forward(Variable x) {
        if (!isTraining() || p == 0) return x;
        // one fused op each way; the mask (uniform(callSeed, i) >= p) is redrawn in backward, never stored
        return x.dropout(CounterRng.mix(seed, calls++), p);
    }

    /**
     * residual + forward(x) as one fused op (a residual connection; shapes must match): draws the
     * same mask as forward would at this call.
     */
    public Variable addTo(Variable residual, Variable x) {
        if (!isTraining() || p == 0) return residual.add(x);
        if (!java.util.Arrays.equals(residual.shape(), x.shape())) return residual.add(forward(x));
        return residual.addDropout(x, CounterRng.mix(seed, calls++), p);
    }

    /**
     * residual + forward(x + bias) as one fused op (bias [x's last dimension], e.g. the bias of
     * the Linear that produced x, left out of it); in eval mode the same op keeps everything.
     */
    public Variable addTo(Variable residual, Variable x, Variable bias) {
        if (bias == null) return addTo(residual, x);
        if (!java.util.Arrays.equals(residual.shape(), x.shape())) return residual.add(forward(x.add(bias)));
        if (!isTraining() || p == 0) return residual.addDropout(x, bias, 0, 0.0);   // p = 0 keeps every element, scale 1
        return residual.addDropout(x, bias, CounterRng.mix(seed, calls++), p);
    }

    public double p() { return p; }

    /** Number of masks drawn so far (the counter the next mask's seed derives from). */
    public long calls() { return calls; }

    /** Sets the call counter, e.g. to resume a run from a checkpoint at the same masks. */
    public void setCalls(long calls) { this.calls = calls; }
}
