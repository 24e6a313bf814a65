package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Linear;
import io.reg4rec.model.nn.Module;

import java.util.ArrayList;
import java.util.List;

/** Linear layers with ReLU between them (none after the last): widths input, hidden..., output. */
final class Mlp extends Module {
    private final List<Linear> layers = new ArrayList<>();

    Mlp(Device device, List<Integer> widths, long seed) {
        if (widths.size() < 2) throw new IllegalArgumentException("Mlp: needs at least input and output widths, got " + widths);
        for (int k = 0; k + 1 < widths.size(); k++) {
            layers.add(registerModule("l" + k, new Linear(device, widths.get(k), widths.get(k + 1), true, Init.childSeed(seed, k))));
        }
    }

    Variable forward(Variable x) {
        Variable h = x;
        for (int k = 0; k < layers.size(); k++) {
            h = layers.get(k).forward(h);
            if (k + 1 < layers.size()) h = h.relu();
        }
        return h;
    }

    /** widths = first, middle..., last. */
    static List<Integer> widths(int first, List<Integer> middle, int last) {
        List<Integer> w = new ArrayList<>();
        w.add(first);
        w.addAll(middle);
        w.add(last);
        return w;
    }
}
