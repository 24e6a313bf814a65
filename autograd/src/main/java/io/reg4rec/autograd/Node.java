package io.reg4rec.autograd;

import io.reg4rec.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * One recorded op in the graph: its inputs, the tensors it saved for its derivative, and the
 * derivative itself. A node owns its saved tensors (views that retain the storage they need) and
 * closes them when backward has passed through it (unless the graph is retained) or when the
 * graph is released.
 */
public final class Node {
    /** Maps the gradient of the op's output to the gradients of its inputs (null where not needed). */
    @FunctionalInterface
    interface Derivative {
        Tensor[] apply(Tensor gradOutput);
    }

    private final String op;
    private final Variable[] inputs;
    private final List<Tensor> saved = new ArrayList<>();
    private Derivative derivative;
    private boolean freed;

    Node(String op, Variable[] inputs) {
        this.op = op;
        this.inputs = inputs;
    }

    /** The op's name, as error messages use it. */
    public String op() { return op; }

    /** Whether backward already passed through this node and freed its saved tensors. */
    public boolean isFreed() { return freed; }

    Variable[] inputs() { return inputs; }

    void setDerivative(Derivative derivative) { this.derivative = derivative; }

    /** Whether input i needs a gradient. */
    boolean needs(int i) { return inputs[i].requiresGrad(); }

    /** Saves a view of t (sharing its storage) for backward; the node releases the view. */
    Tensor save(Tensor t) {
        Tensor view = Ops.alias(t);
        saved.add(view);
        return view;
    }

    /** Takes ownership of a tensor computed only for backward. */
    Tensor own(Tensor t) {
        saved.add(t);
        return t;
    }

    Tensor[] backward(Tensor gradOutput) {
        checkUsable("backward");
        Tensor[] grads = derivative.apply(gradOutput);
        if (grads.length != inputs.length) {
            throw new IllegalStateException(op + ": derivative returned " + grads.length + " gradients for " + inputs.length + " inputs");
        }
        return grads;
    }

    /** Throws a message naming this op when its saved tensors are gone. */
    void checkUsable(String what) {
        if (freed) {
            throw new IllegalStateException(what + ": op '" + op + "' was already backpropagated and the tensors it saved were freed; "
                    + "pass retainGraph=true to the first backward() to backpropagate through this graph again");
        }
        for (Tensor t : saved) {
            if (t.isClosed()) {
                throw new IllegalStateException(what + ": a tensor op '" + op + "' saved for backward (" + t.describe()
                        + ") was released before backward, e.g. by closing the Scope the graph was built in");
            }
        }
    }

    /** Closes the saved tensors; backward through this node fails from now on. Idempotent. */
    void release() {
        for (Tensor t : saved) t.close();
        saved.clear();
        derivative = null;
        freed = true;
    }

    @Override
    public String toString() {
        return "Node(" + op + (freed ? ", freed" : "") + ")";
    }
}
