package io.reg4rec.autograd;

import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The reverse pass: an iterative topological walk of the graph, no recursion. */
final class Backprop {
    private Backprop() {}

    static void run(Variable root, Tensor gradOutput, boolean retainGraph) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward: " + root + " does not require grad (no input requires grad, or it was computed under NoGrad)");
        }
        int[] shape = root.shape();
        if (gradOutput == null && root.numel() != 1) {
            throw new IllegalArgumentException("backward: the output " + Arrays.toString(shape) + " is not a scalar; pass an explicit output gradient of that shape");
        }
        if (gradOutput != null && !Arrays.equals(gradOutput.shape(), shape)) {
            throw new IllegalArgumentException("backward: output gradient shape " + Arrays.toString(gradOutput.shape())
                    + " does not match the output's shape " + Arrays.toString(shape));
        }
        if (gradOutput != null && !gradOutput.device().equals(root.device())) {
            throw new IllegalArgumentException("backward: output gradient on " + gradOutput.device() + ", output on " + root.device());
        }
        if (root.isLeaf()) {
            if (gradOutput == null) {
                try (Tensor one = Tensor.ones(root.device(), root.dtype(), shape)) {
                    root.accumulateGrad(one);
                }
            } else {
                try (Tensor g = gradOutput.to(root.dtype())) {
                    root.accumulateGrad(g);
                }
            }
            return;
        }
        List<Node> order = topologicalOrder(root.gradFn(), true);
        Map<Node, Tensor> pending = new IdentityHashMap<>();
        Tensor seed = gradOutput == null ? Tensor.ones(root.device(), root.dtype(), shape)
                : gradOutput.dtype() == root.dtype() ? Ops.alias(gradOutput) : gradOutput.to(root.dtype());
        pending.put(root.gradFn(), seed.unscoped());
        try {
            for (Node node : order) {
                Tensor g = pending.remove(node);
                if (g == null) {
                    if (!retainGraph) node.release();
                    continue;
                }
                Tensor[] grads = null;
                try (Scope temporaries = Scope.open()) {
                    grads = node.backward(g);
                    claim(node, g, grads);
                    // released first: a gradient that is a view of g then holds its storage alone
                    // and a leaf can take it without a copy
                    g.close();
                    passOn(node, grads, pending);
                } finally {
                    g.close();
                    // on failure, gradients claimed but not yet passed on
                    if (grads != null) for (Tensor left : grads) if (left != null) left.close();
                }
                if (!retainGraph) node.release();
            }
        } finally {
            for (Tensor t : pending.values()) t.close();
            if (!retainGraph) for (Node n : order) n.release();
        }
    }

    /** Makes each returned gradient a distinct tensor owned by the backward pass (out of every scope). */
    private static void claim(Node node, Tensor g, Tensor[] grads) {
        Variable[] inputs = node.inputs();
        for (int i = 0; i < grads.length; i++) {
            Tensor gi = grads[i];
            if (gi == null) continue;
            if (!Arrays.equals(gi.shape(), inputs[i].shape())) {
                throw new IllegalStateException(node.op() + ": gradient of input " + i + " has shape " + Arrays.toString(gi.shape())
                        + ", the input has " + Arrays.toString(inputs[i].shape()));
            }
        }
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        seen.add(g);
        for (int i = 0; i < grads.length; i++) {
            Tensor gi = grads[i];
            if (gi == null) continue;
            if (!seen.add(gi)) gi = Ops.alias(gi);
            grads[i] = gi.unscoped();
        }
    }

    private static void passOn(Node node, Tensor[] grads, Map<Node, Tensor> pending) {
        Variable[] inputs = node.inputs();
        for (int i = 0; i < grads.length; i++) {
            Tensor gi = grads[i];
            if (gi == null) continue;
            grads[i] = null;   // consumed from here on
            Variable input = inputs[i];
            if (!input.requiresGrad()) {
                gi.close();
            } else if (input.isLeaf()) {
                try (gi) {
                    input.accumulateGrad(gi);
                }
            } else {
                Tensor previous = pending.get(input.gradFn());
                if (previous == null) {
                    pending.put(input.gradFn(), gi);
                } else if (previous.holdsItsStorageAlone() && previous.dtype() == gi.dtype() && Arrays.equals(previous.shape(), gi.shape())) {
                    // no one else sees previous's elements: add in place (each element is read before it is written)
                    try (gi) {
                        previous.backend().binary(io.reg4rec.engine.BinaryOp.ADD, previous, gi, previous);
                    }
                } else {
                    try (previous; gi) {
                        pending.put(input.gradFn(), previous.add(gi).unscoped());
                    }
                }
            }
        }
    }

    /**
     * Nodes reachable from root, each before all nodes that produce its inputs (reverse post-order
     * of an iterative depth-first walk). With {@code checkUsable}, fails naming the node nearest the root whose
     * saved tensors are gone, before any gradient is computed.
     */
    static List<Node> topologicalOrder(Node root, boolean checkUsable) {
        List<Node> postOrder = new ArrayList<>();
        Set<Node> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Node> nodes = new ArrayDeque<>();
        Deque<int[]> nextInput = new ArrayDeque<>();
        visited.add(root);
        nodes.push(root);
        nextInput.push(new int[1]);
        while (!nodes.isEmpty()) {
            Node node = nodes.peek();
            int[] next = nextInput.peek();
            Variable[] inputs = node.inputs();
            Node child = null;
            while (next[0] < inputs.length && child == null) {
                Node candidate = inputs[next[0]++].gradFn();
                if (candidate != null && visited.add(candidate)) child = candidate;
            }
            if (child != null) {
                nodes.push(child);
                nextInput.push(new int[1]);
            } else {
                nodes.pop();
                nextInput.pop();
                postOrder.add(node);
            }
        }
        Collections.reverse(postOrder);
        if (checkUsable) {
            for (Node node : postOrder) node.checkUsable("backward");
        }
        return postOrder;
    }
}
