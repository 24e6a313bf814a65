package io.reg4rec.model.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** An ordered list of child modules named "0", "1", ... (as in {@code layers.0.attn}). */
public final class ModuleList extends Module {
    private final List<Module> items = new ArrayList<>();

    public <M extends Module> M add(M module) {
        registerModule(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    public Module get(int i) { return items.get(i); }

    public int size() { return items.size(); }

    public List<Module> items() { return Collections.unmodifiableList(items); }
}
