package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * M independent MLPs (the MPQ experts E_r) evaluated together: layer k of every expert is one
 * batched GEMM. Weights are stored [M, in, out] (x W, not x Wᵀ as in {@link io.reg4rec.model.nn.Linear})
 * so that {@code x [B, F] matmul w [M, F, h]} broadcasts x over the experts without a copy, and
 * {@code w[r]} is expert r's projection matrix W_r [F, h] with one column per output unit.
 * ReLU between layers, none after the last. Initialised like Linear: uniform on ±1/sqrt(in).
 */
final class ExpertMlps extends Module {
    private final int experts;
    private final List<Variable> weights = new ArrayList<>();
    private final List<Variable> biases = new ArrayList<>();

    /** widths: input, hidden..., output. */
    ExpertMlps(Device device, int experts, List<Integer> widths, long seed) {
        if (widths.size() < 2) throw new IllegalArgumentException("ExpertMlps: needs at least input and output widths, got " + widths);
        this.experts = experts;
        for (int k = 0; k + 1 < widths.size(); k++) {
            int in = widths.get(k), out = widths.get(k + 1);
            double bound = 1.0 / Math.sqrt(in);
            weights.add(registerParameter("w" + k, Init.uniform(device, DType.F32, Init.childSeed(seed, 2L * k), bound, experts, in, out)));
            biases.add(registerParameter("b" + k, Init.uniform(device, DType.F32, Init.childSeed(seed, 2L * k + 1), bound, experts, 1, out)));
        }
    }

    /** x [B, F] to every expert's output, [M, B, out]. */
    Variable forward(Variable x) {
        Variable h = x;
        for (int k = 0; k < weights.size(); k++) {
            h = h.matmul(weights.get(k)).add(biases.get(k));
            if (k + 1 < weights.size()) h = h.relu();
        }
        return h;
    }

    /** The experts' first-layer projections, [M, F, h]: expert r's W_r is slice r. */
    Variable firstLayerWeights() {
        return weights.get(0);
    }

    int experts() { return experts; }
}
