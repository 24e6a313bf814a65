package io.reg4rec.autograd;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * A tensor in a differentiable computation: its value, whether it needs a gradient, and (for
 * results of ops) the {@link Node} that produced it.
 *
 * <h2>Who owns what</h2>
 * <ul>
 *   <li>A Variable owns its {@link #data()} tensor: {@link #close()} closes it. Tensors created
 *       inside an engine {@code Scope} are also closed by that scope, so op results built inside
 *       a training step's scope need no explicit close.</li>
 *   <li>{@link #parameter} takes its tensor out of every open scope: only the Variable releases it.
 *       A leaf's {@link #grad()} is likewise kept out of scopes, so parameters and their
 *       gradients survive the per-step scope. {@link #zeroGrad()} releases the gradient.</li>
 *   <li>A {@link Node} owns the tensors it saved for backward (views holding the storage they
 *       need). {@link #backward()} releases them node by node as it passes, unless asked to
 *       retain the graph; {@link #releaseGraph()} releases a graph that is never backpropagated;
 *       a scope that closes also releases the saved views created inside it.</li>
 *   <li>Gradients in flight during backward are owned by the backward pass and released as soon
 *       as they have been passed on; a node's temporaries live in a scope of their own.</li>
 * </ul>
 * Values must not be modified in place between a forward pass and its backward pass.
 */
public final class Variable implements AutoCloseable {
    private final Tensor data;
    private final boolean requiresGrad;
    private final Node gradFn;
    private Tensor grad;
    private final String name;

    private Variable(Tensor data, boolean requiresGrad, Node gradFn, String name) {
        this.data = data;
        this.requiresGrad = requiresGrad;
        this.gradFn = gradFn;
        this.name = name;
    }

    // ---------------------------------------------------------------- creation

    /**
     * A trainable leaf: requires a gradient, and owns {@code data} outright (taken out of every
     * open scope, so a step scope never frees it).
     */
    public static Variable parameter(Tensor data, String name) {
        checkFloating(data, "parameter " + name);
        return new Variable(data.unscoped(), true, null, name);
    }

    /** A leaf that requires a gradient but stays in the scopes that hold its tensor (e.g. an input being checked). */
    public static Variable input(Tensor data, String name) {
        checkFloating(data, "input " + name);
        return new Variable(data, true, null, name);
    }

    /** A leaf that needs no gradient (inputs, masks, targets). The Variable owns {@code data}. */
    public static Variable constant(Tensor data) {
        return new Variable(data, false, null, null);
    }

    /**
     * The result of an op: records a node (built by {@code derivative}) when grad mode is on and
     * some input requires a gradient; otherwise a plain value with nothing saved.
     */
    static Variable result(String op, Tensor out, Variable[] inputs, java.util.function.Function<Node, Node.Derivative> derivative) {
        if (!NoGrad.isGradEnabled() || !anyRequiresGrad(inputs)) return new Variable(out, false, null, null);
        Node node = new Node(op, inputs);
        node.setDerivative(derivative.apply(node));
        return new Variable(out, true, node, null);
    }

    private static boolean anyRequiresGrad(Variable[] inputs) {
        for (Variable v : inputs) if (v.requiresGrad) return true;
        return false;
    }

    private static void checkFloating(Tensor t, String what) {
        if (!t.dtype().isFloating()) throw new IllegalArgumentException(what + ": a variable that requires grad needs a floating tensor, got " + t.describe());
    }

    // ---------------------------------------------------------------- state

    public Tensor data() { return data; }

    /** The accumulated gradient of a leaf (null until a backward pass reaches it). */
    public Tensor grad() { return grad; }

    public boolean requiresGrad() { return requiresGrad; }

    /** A leaf has no producing node (parameters, inputs, constants). */
    public boolean isLeaf() { return gradFn == null; }

    /** The node that produced this value, or null for a leaf. */
    public Node gradFn() { return gradFn; }

    public String name() { return name; }

    public int[] shape() { return data.shape(); }

    public int size(int dim) { return data.size(dim); }

    public int rank() { return data.rank(); }

    public long numel() { return data.numel(); }

    public DType dtype() { return data.dtype(); }

    public Device device() { return data.device(); }

    public double item() { return data.item(); }

    // ---------------------------------------------------------------- gradients

    /** Backpropagates from a one-element output (the gradient seed is 1). */
    public void backward() { Backprop.run(this, null, false); }

    /** Backpropagates with an explicit output gradient of this value's shape. */
    public void backward(Tensor gradOutput) { Backprop.run(this, gradOutput, false); }

    /**
     * Backpropagates; with {@code retainGraph} the saved tensors are kept so that the graph can
     * be backpropagated again (the caller then releases it with {@link #releaseGraph()} or a scope).
     * gradOutput may be null for a one-element output.
     */
    public void backward(Tensor gradOutput, boolean retainGraph) { Backprop.run(this, gradOutput, retainGraph); }

    /** Releases the gradient; the next backward starts from zero. */
    public void zeroGrad() {
        if (grad != null) grad.close();
        grad = null;
    }

    /** Adds g (not consumed) into this leaf's gradient, which stays out of every scope. */
    void accumulateGrad(Tensor g) {
        if (grad == null) {
            // g's storage held by g alone (a gradient the backward pass computed) is taken as is;
            // otherwise a private copy, since g may share storage with user or forward tensors
            grad = (g.holdsItsStorageAlone() ? Ops.alias(g) : g.to(g.dtype())).unscoped();
        } else {
            Tensor sum = grad.add(g).unscoped();
            grad.close();
            grad = sum;
        }
    }

    /** Removes and returns the gradient; the caller owns it. */
    Tensor takeGrad() {
        Tensor g = grad;
        grad = null;
        return g;
    }

    void restoreGrad(Tensor g) {
        zeroGrad();
        grad = g;
    }

    /** Releases the tensors saved by every node of the graph behind this value (for graphs never backpropagated). */
    public void releaseGraph() {
        if (gradFn == null) return;
        for (Node n : Backprop.topologicalOrder(gradFn, false)) n.release();
    }

    /** Overwrites the values in place (optimizer updates; use under {@link NoGrad} and outside a forward/backward pair). */
    public void update(Tensor newValue) {
        data.copyFrom(newValue);
    }

    /** The same values (a view) as a constant: no gradient flows back through it. */
    public Variable detach() {
        return new Variable(Ops.alias(data), false, null, name);
    }

    /** Releases the value and the gradient. */
    @Override
    public void close() {
        data.close();
        zeroGrad();
    }

    @Override
    public String toString() {
        return "Variable(" + (name != null ? name + " " : "") + data.describe() + (requiresGrad ? ", requires grad" : "")
                + (gradFn != null ? ", from " + gradFn.op() : "") + ")";
    }

    // ---------------------------------------------------------------- elementwise

    public Variable add(Variable o) { return Ops.add(this, o); }
    public Variable sub(Variable o) { return Ops.sub(this, o); }
    public Variable mul(Variable o) { return Ops.mul(this, o); }
    public Variable div(Variable o) { return Ops.div(this, o); }

    public Variable add(double s) { return Ops.addScalar(this, s); }
    public Variable sub(double s) { return Ops.addScalar(this, -s); }
    public Variable mul(double s) { return Ops.mulScalar(this, s); }
    public Variable div(double s) { return Ops.divScalar(this, s); }
    /** s - this. */
    public Variable rsub(double s) { return Ops.rsubScalar(this, s); }
    /** s / this. */
    public Variable rdiv(double s) { return Ops.rdivScalar(this, s); }
    public Variable pow(double p) { return Ops.powScalar(this, p); }
    public Variable square() { return Ops.mul(this, this); }

    public Variable neg() { return Ops.neg(this); }
    public Variable exp() { return Ops.exp(this); }
    public Variable log() { return Ops.log(this); }
    public Variable sqrt() { return Ops.sqrt(this); }
    public Variable rsqrt() { return Ops.rsqrt(this); }
    public Variable tanh() { return Ops.tanh(this); }
    public Variable sigmoid() { return Ops.sigmoid(this); }
    public Variable relu() { return Ops.relu(this); }
    public Variable gelu() { return Ops.gelu(this); }

    /** Positions where mask is 1 take value, where it is 0 keep this (mask: 0/1 of this dtype, broadcastable). */
    public Variable maskedFill(Tensor mask, double value) { return Ops.maskedFill(this, mask, value); }

    /** cond ? a : b elementwise, cond a 0/1 tensor of a's dtype; the three broadcast. */
    public static Variable where(Tensor cond, Variable a, Variable b) { return Ops.where(cond, a, b); }

    /** A converted copy; gradients flow back converted to this dtype (none when the target is an integer type). */
    public Variable to(DType dtype) { return Ops.cast(this, dtype); }

    // ---------------------------------------------------------------- products and reductions

    /** Matrix product of rank-2 or rank-3 operands (see {@link Tensor#matmul}), batch broadcasting included. */
    public Variable matmul(Variable o) { return Ops.matmul(this, o); }

    public Variable sum(int axis, boolean keepDim) { return Ops.sum(this, axis, keepDim); }
    public Variable mean(int axis, boolean keepDim) { return Ops.mean(this, axis, keepDim); }
    public Variable sumAll() { return Ops.sumAll(this); }
    public Variable meanAll() { return Ops.meanAll(this); }
    /** Maximum along an axis; the gradient goes to the (first) argmax position. */
    public Variable max(int axis, boolean keepDim) { return Ops.max(this, axis, keepDim); }
    public Variable softmax(int axis) { return Ops.softmax(this, axis, false); }
    public Variable logSoftmax(int axis) { return Ops.softmax(this, axis, true); }

    // ---------------------------------------------------------------- views and indexing

    public Variable reshape(int... shape) { return Ops.reshape(this, shape); }
    public Variable transpose(int dim0, int dim1) { return Ops.transpose(this, dim0, dim1); }
    public Variable permute(int... order) { return Ops.permute(this, order); }
    public Variable slice(int dim, int start, int end) { return Ops.slice(this, dim, start, end); }
    public Variable select(int dim, int index) { return Ops.select(this, dim, index); }
    public Variable unsqueeze(int dim) { return Ops.unsqueeze(this, dim); }
    public Variable squeeze(int dim) { return Ops.squeeze(this, dim); }
    public Variable expand(int... shape) { return Ops.expand(this, shape); }

    /** out[..i..] = this[..index[..i..]..] along axis (index I32/I64, no gradient). */
    public Variable gather(int axis, Tensor index) { return Ops.gather(this, axis, index); }

    /** Rows picked by a 1-D index: an embedding lookup. Backward scatter-adds into the rows. */
    public Variable indexSelect(Tensor index) { return Ops.indexSelect(this, index); }

    /** Concatenation along an axis; all parts share dtype, device, rank and the other dimensions. */
    public static Variable concat(int axis, Variable... parts) { return Ops.concat(axis, parts); }

    // ---- fused layer norm and cross-entropy

    /**
     * Layer normalisation over the last axis, (x - mean) / sqrt(var + eps) * gamma + beta with the
     * biased variance, as one fused op forward and one backward. gamma and beta are [cols] of this
     * dtype, or null (1 and 0).
     */
    public Variable layerNorm(Variable gamma, Variable beta, double eps) { return Ops.layerNorm(this, gamma, beta, eps); }

    /**
     * Per-position softmax cross-entropy of these logits [..., classes] against integer targets
     * [...] (I32 or I64), with PyTorch's label smoothing: (1 - s) (-log p[target]) + s mean_c(-log p[c]);
     * 0 where the target equals ignoreIndex. One fused op forward and one backward; the result has
     * the targets' shape and is F32 (F64 for F64 logits). Reduce it as needed (e.g. the mean over
     * counted positions).
     */
    public Variable crossEntropy(Tensor targets, long ignoreIndex, double labelSmoothing) {
        return Ops.crossEntropy(this, targets, ignoreIndex, labelSmoothing);
    }

    // ---- attention

    /**
     * Fused scaled dot-product attention of q [B, H, Tq, hd] over k, v [B, H, Tk, hd]:
     * softmax(scale q k^T, masked) v, as {@link io.reg4rec.engine.Attention} defines it (keyPadding
     * null or [B, Tk] with nonzero = masked; causal bottom-right aligned; a query that sees no key
     * gives 0 and passes no gradient). No score matrix is kept for backward.
     */
    public static Variable attention(Variable q, Variable k, Variable v, Tensor keyPadding, boolean causal, double scale) {
        return Ops.attention(q, k, v, keyPadding, causal, scale);
    }

    // ---- quantization

    /**
     * The gated codeword sum of MPQ (SPEC 1): q[n] = sum_m gates[n, m] codebooks[m, indices[n, m]]
     * with codebooks [M, D, dc], gates [N, M] and constant I32 indices [N, M]; result [N, dc].
     * Gradients flow to the codebooks (scatter-added into the chosen rows) and to the gates.
     */
    public static Variable codewordSum(Variable codebooks, Tensor indices, Variable gates) { return Ops.codewordSum(codebooks, indices, gates); }

    /**
     * Jensen-Shannon divergence of each row of this [R, C] table against q's, natural log:
     * result [R]. Zero entries are allowed (0 log 0 = 0); where an entry is 0 its gradient is 0
     * (see Backend#jsDivergenceBackward).
     */
    public Variable jsDivergence(Variable q) { return Ops.jsDivergence(this, q); }

    // ---- train-step fusions

    /**
     * Inverted dropout with a counter-based mask: element i is kept (and scaled by 1 / (1 - p))
     * when {@link io.reg4rec.engine.CounterRng#uniform}(seed, i) >= p, else multiplied by 0. One
     * fused op forward and one backward; no mask is stored.
     */
    public Variable dropout(long seed, double p) { return Ops.dropout(this, seed, p); }

    /** gelu(this + bias) (tanh approximation) over the last axis as one fused op each way; bias [cols] or null. */
    public Variable biasGelu(Variable bias) { return Ops.biasGelu(this, bias); }

    /**
     * (this + bias) of [b, t, d] split into heads [b, heads, t, d / heads], contiguous: the bias add
     * and the head layout copy of an attention projection as one op.
     */
    public Variable addBiasSplitHeads(Variable bias, int heads) { return Ops.addBiasSplitHeads(this, bias, heads); }

    /** this + x.dropout(seed, p) as one fused op each way; x has this shape and dtype (a residual connection). */
    public Variable addDropout(Variable x, long seed, double p) { return Ops.addDropout(this, x, seed, p); }

    /** this + (x + bias).dropout(seed, p) as one fused op each way; bias [x.size(-1)] (a Linear's bias folded into its residual). */
    public Variable addDropout(Variable x, Variable bias, long seed, double p) { return Ops.addDropout(this, x, bias, seed, p); }
}
