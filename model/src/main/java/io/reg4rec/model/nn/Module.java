package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A layer or a model: it owns named parameters and named child modules, in registration order.
 *
 * <p>{@link #namedParameters()} walks the tree depth-first and names every parameter by its path
 * of registration names, e.g. {@code encoder.layers.0.attn.q.weight}; the order and the names are
 * stable, so they key checkpoints and optimizer state. Parameters are {@link Variable#parameter}
 * leaves, created outside any step scope and released only by {@link #close()}.
 *
 * <p>Training mode (the default) enables dropout; {@link #eval()} switches the whole tree off.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Variable> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    /** Registers a parameter owning {@code init} (taken out of every open scope). */
    protected final Variable registerParameter(String name, Tensor init) {
        checkNewName(name);
        Variable p = Variable.parameter(init, name);
        parameters.put(name, p);
        return p;
    }

    /** Registers a child module; its parameters appear under {@code name.}. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkNewName(name);
        children.put(name, module);
        module.setTraining(training);
        return module;
    }

    private void checkNewName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": bad member name '" + name + "' (non-empty, no dots)");
        }
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": member '" + name + "' registered twice");
        }
    }

    /** Every parameter of this module and its descendants, by dotted path, in registration order. */
    public final Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Variable> out) {
        parameters.forEach((name, p) -> out.put(prefix + name, p));
        children.forEach((name, child) -> child.collect(prefix + name + ".", out));
    }

    public final List<Variable> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Direct children by registration name. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Total number of scalar parameters. */
    public final long parameterCount() {
        long n = 0;
        for (Variable p : namedParameters().values()) n += p.numel();
        return n;
    }

    public final boolean isTraining() { return training; }

    /** Sets training mode on this module and every descendant. */
    public final Module setTraining(boolean training) {
        this.training = training;
        for (Module child : children.values()) child.setTraining(training);
        return this;
    }

    public final Module train() { return setTraining(true); }

    public final Module eval() { return setTraining(false); }

    /** Releases the gradients of every parameter. */
    public final void zeroGrad() {
        for (Variable p : namedParameters().values()) p.zeroGrad();
    }

    /** Releases every parameter (values and gradients) of the tree. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Variable p : parameters.values()) p.close();
        for (Module child : children.values()) child.close();
    }
}
