package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;

/** Pointwise nonlinearities used between layers. */
public enum Activation {
    /** GELU, tanh approximation (PyTorch's approximate="tanh"). */
    GELU,
    RELU;

    public Variable apply(Variable x) {
        return switch (this) {
            case GELU -> x.gelu();
            case RELU -> x.relu();
        };
    }
}
