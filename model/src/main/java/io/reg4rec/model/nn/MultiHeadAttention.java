package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

/**
 * Multi-head scaled dot-product attention with Q, K, V and output projections (self- or
 * cross-attention), through the fused attention op unless attention dropout is active. A query
 * row whose keys are all masked gives 0 on the fused path; on the composed path masked scores are
 * lowered by {@link #MASKED_SCORE}, a large negative but finite number (one add of a penalty
 * tensor), so their weights underflow to exactly 0 and a fully masked row gets a (for fp32 scores
 * of magnitude below 32, exactly) uniform distribution instead of NaNs.
 *
 * <p>Masks are 0/1 tensors, 1 meaning "may not attend": a key-padding mask [batch, keys]
 * (1 where the key is padding) and/or a causal mask (query i sees keys 0..i).
 */
public final class MultiHeadAttention extends Module {
    /** The score given to masked positions before the softmax. */
    public static final double MASKED_SCORE = -1e9;

    private final int dModel;
    private final int heads;
    private final int headDim;
    private final Linear q;
    private final Linear k;
    private final Linear v;
    private final Linear out;
    private final Dropout attentionDropout;

    public MultiHeadAttention(Device device, int dModel, int heads, double attentionDropout, long seed) {
        this(device, DType.F32, dModel, heads, attentionDropout, seed);
    }

    public MultiHeadAttention(Device device, DType dtype, int dModel, int heads, double attentionDropout, long seed) {
        if (heads <= 0 || dModel % heads != 0) throw new IllegalArgumentException("MultiHeadAttention: width " + dModel + " is not divisible into " + heads + " heads");
        this.dModel = dModel;
        this.heads = heads;
        this.headDim = dModel / heads;
        this.q = registerModule("q", new Linear(device, dtype, dModel, dModel, true, Init.childSeed(seed, 0)));
        this.k = registerModule("k", new Linear(device, dtype, dModel, dModel, true, Init.childSeed(seed, 1)));
        this.v = registerModule("v", new Linear(device, dtype, dModel, dModel, true, Init.childSeed(seed, 2)));
        this.out = registerModule("out", new Linear(device, dtype, dModel, dModel, true, Init.childSeed(seed, 3)));
        this.attentionDropout = registerModule("dropout", new Dropout(attentionDropout, Init.childSeed(seed, 4)));
    }

    /** Self-attention of x [batch, len, d]; keyPadding [batch, len] or null. */
    public Variable selfAttention(Variable x, Tensor keyPadding, boolean causal) {
        return forward(x, x, keyPadding, causal);
    }

    /** Cross-attention of queries x [batch, tq, d] over memory [batch, tk, d]; memoryPadding [batch, tk] or null. */
    public Variable crossAttention(Variable x, Variable memory, Tensor memoryPadding) {
        return forward(x, memory, memoryPadding, false);
    }

    /**
     * Attention of query [batch, tq, d] over keyValue [batch, tk, d]. keyPadding: 0/1 [batch, tk]
     * of any numeric dtype, or null; causal: query i attends to keys 0..i only (for tq != tk the
     * last query lines up with the last key, as {@link io.reg4rec.engine.Attention} defines).
     *
     * <p>Without active attention dropout (p = 0, or eval mode) this is the fused attention op
     * wherever it supports the dtype and head dim ({@link io.reg4rec.engine.Attention#supports});
     * active attention dropout, which must drop individual softmax weights, and unsupported head
     * dims take the composed path (matmul, masked fill, softmax, dropout, matmul).
     */
    public Variable forward(Variable query, Variable keyValue, Tensor keyPadding, boolean causal) {
        boolean fused = !attentionDropoutActive()
                && io.reg4rec.engine.Attention.supports(query.data().device(), query.data().dtype(), headDim);
        return forward(query, keyValue, keyPadding, causal, fused);
    }

    /** {@link #forward} on the path asked for (package-private so tests can hold the two paths against each other). */
    Variable forward(Variable query, Variable keyValue, Tensor keyPadding, boolean causal, boolean fused) {
        return forward(query, keyValue, keyPadding, causal, fused, true);
    }

    /**
     * {@link #forward} without the output projection's bias, which the caller adds (see
     * {@link #outputBias()}; e.g. fused into the residual dropout by {@link Dropout#addTo(Variable, Variable, Variable)}).
     */
    public Variable forwardWithoutOutputBias(Variable query, Variable keyValue, Tensor keyPadding, boolean causal) {
        boolean fused = !attentionDropoutActive()
                && io.reg4rec.engine.Attention.supports(query.data().device(), query.data().dtype(), headDim);
        return forward(query, keyValue, keyPadding, causal, fused, false);
    }

    /** The output projection's bias (null without one). */
    public Variable outputBias() { return out.bias(); }

    private Variable forward(Variable query, Variable keyValue, Tensor keyPadding, boolean causal, boolean fused, boolean withOutputBias) {
        if (query.rank() != 3 || keyValue.rank() != 3 || query.size(2) != dModel || keyValue.size(2) != dModel || query.size(0) != keyValue.size(0)) {
            throw new IllegalArgumentException("MultiHeadAttention(d=" + dModel + "): needs query [b, tq, " + dModel + "] and keys [b, tk, " + dModel
                    + "], got " + query.data().describe() + " and " + keyValue.data().describe());
        }
        int batch = query.size(0), tq = query.size(1), tk = keyValue.size(1);
        if (keyPadding != null && (keyPadding.rank() != 2 || keyPadding.size(0) != batch || keyPadding.size(1) != tk)) {
            throw new IllegalArgumentException("MultiHeadAttention: key padding mask must be [" + batch + ", " + tk + "], got " + keyPadding.describe());
        }
        Variable qh = splitHeads(q.forward(query));
        // keys and values: bias add and head layout in one op (contiguous heads, no reshape copy later)
        Variable kh = k.bias() == null ? splitHeads(k.forward(keyValue)) : k.forwardWithoutBias(keyValue).addBiasSplitHeads(k.bias(), heads);
        Variable vh = v.bias() == null ? splitHeads(v.forward(keyValue)) : v.forwardWithoutBias(keyValue).addBiasSplitHeads(v.bias(), heads);
        Variable context = fused
                ? fusedAttention(qh, kh, vh, keyPadding, causal)
                : composedAttention(qh, kh, vh, keyPadding, causal);
        // [batch, heads, tq, hd] -> [batch, tq, heads * hd]
        Variable merged = context.permute(0, 2, 1, 3).reshape(batch, tq, dModel);
        return withOutputBias ? out.forward(merged) : out.forwardWithoutBias(merged);
    }

    /** Whether attention dropout would drop weights in this call (training mode and p > 0). */
    private boolean attentionDropoutActive() {
        return attentionDropout.isTraining() && attentionDropout.p() > 0;
    }

    /**
     * The fused op on q [batch, heads, tq, hd] and k, v [batch, heads, tk, hd] (strided views are
     * fine). A query row that sees no key gives 0 here (the composed path gives the mean of v).
     */
    private Variable fusedAttention(Variable qh, Variable kh, Variable vh, Tensor keyPadding, boolean causal) {
        double scale = 1.0 / Math.sqrt(headDim);
        if (keyPadding == null || keyPadding.device().equals(qh.device())) return Variable.attention(qh, kh, vh, keyPadding, causal, scale);
        try (Tensor padding = keyPadding.to(qh.device())) {
            return Variable.attention(qh, kh, vh, padding, causal, scale);
        }
    }

    /**
     * softmax(q k^T / sqrt(hd) with masked scores set to {@link #MASKED_SCORE}), attention dropout,
     * times v, with heads folded into the batch for the matmuls. Same shapes as the fused path.
     */
    private Variable composedAttention(Variable qh, Variable kh, Variable vh, Tensor keyPadding, boolean causal) {
        int batch = qh.size(0), tq = qh.size(2), tk = kh.size(2);
        // the scale goes on q: that multiply also makes the permuted heads contiguous, where a reshape would copy
        Variable q3 = qh.mul(1.0 / Math.sqrt(headDim)).reshape(batch * heads, tq, headDim);
        Variable k3 = kh.reshape(batch * heads, tk, headDim), v3 = vh.reshape(batch * heads, tk, headDim);
        Variable scores = q3.matmul(k3.transpose(1, 2));
        try (Tensor penalty = maskPenalty(qh.device(), qh.dtype(), batch, tq, tk, keyPadding, causal)) {
            if (penalty != null) {
                // one add: masked scores drop by |MASKED_SCORE|, so their softmax weights underflow to 0
                scores = scores.reshape(batch, heads, tq, tk).add(Variable.constant(penalty.expand(penalty.shape()))).reshape(batch * heads, tq, tk);
            }
        }
        Variable weights = attentionDropout.forward(scores.softmax(2));
        return weights.matmul(v3).reshape(batch, heads, tq, headDim);
    }

    /** The causal penalty of the last call (tensors of the step scope would not outlive it, so this one is unscoped). */
    private Tensor causalPenalty;

    /**
     * MASKED_SCORE where the combined mask is 1, else 0, [batch or 1, 1, tq, tk] in the scores'
     * dtype, or null when nothing is masked. The causal-only penalty is built once per shape
     * and dtype and kept (no host upload per step); the caller closes what it gets.
     */
    private Tensor maskPenalty(Device device, DType dtype, int batch, int tq, int tk, Tensor keyPadding, boolean causal) {
        if (keyPadding == null && causal) {
            Tensor c = causalPenalty;
            if (c == null || c.isClosed() || !c.device().equals(device) || c.dtype() != dtype || c.size(2) != tq || c.size(3) != tk) {
                if (c != null) c.close();
                try (Tensor mask = causalMask(device, dtype, tq, tk)) {
                    c = causalPenalty = mask.mul(MASKED_SCORE).unscoped();
                }
            }
            return c.expand(c.shape());
        }
        try (Tensor mask = buildMask(device, dtype, batch, tq, tk, keyPadding, causal)) {
            return mask == null ? null : mask.mul(MASKED_SCORE);
        }
    }

    @Override
    public void close() {
        if (causalPenalty != null) causalPenalty.close();
        causalPenalty = null;
        super.close();
    }

    /** [batch, t, d] -> [batch, heads, t, hd] (a permuted view; the last dimension stays contiguous). */
    private Variable splitHeads(Variable x) {
        int batch = x.size(0), t = x.size(1);
        return x.reshape(batch, t, heads, headDim).permute(0, 2, 1, 3);
    }

    /** The combined 0/1 mask, [batch or 1, 1, tq, tk] in the scores' dtype, or null when nothing is masked. */
    static Tensor buildMask(Device device, DType dtype, int batch, int tq, int tk, Tensor keyPadding, boolean causal) {
        if (keyPadding == null) return causal ? causalMask(device, dtype, tq, tk) : null;
        if (keyPadding.rank() != 2 || keyPadding.size(0) != batch || keyPadding.size(1) != tk) {
            throw new IllegalArgumentException("MultiHeadAttention: key padding mask must be [" + batch + ", " + tk + "], got " + keyPadding.describe());
        }
        try (Tensor converted = keyPadding.to(device); Tensor typed = converted.to(dtype);
             Tensor padding = typed.reshape(batch, 1, 1, tk)) {
            if (!causal) return padding.reshape(batch, 1, 1, tk);
            try (Tensor future = causalMask(device, dtype, tq, tk)) {
                return padding.binary(BinaryOp.MAX, future);
            }
        }
    }

    /** [1, 1, tq, tk] with 1 where key j lies after query i (j > i + tk - tq: bottom-right aligned, j > i when tq == tk). */
    public static Tensor causalMask(Device device, DType dtype, int tq, int tk) {
        float[] m = new float[tq * tk];
        for (int i = 0; i < tq; i++) {
            for (int j = Math.max(0, i + tk - tq + 1); j < tk; j++) m[i * tk + j] = 1f;
        }
        try (Tensor f = Tensor.of(device, m, 1, 1, tq, tk)) {
            return f.to(dtype);
        }
    }

    public int heads() { return heads; }

    public int dModel() { return dModel; }

    // ---- incremental decoding (key/value cache)

    /** Keys and values already projected and split into heads: [batch * heads, t, headDim] each. */
    public record ProjectedKeyValue(Variable keys, Variable values) {}

    /** Projects keyValue [batch, t, d] to keys and values split into heads, for reuse across decoding steps. */
    public ProjectedKeyValue projectKeyValue(Variable keyValue) {
        if (keyValue.rank() != 3 || keyValue.size(2) != dModel) {
            throw new IllegalArgumentException("MultiHeadAttention(d=" + dModel + ").projectKeyValue: needs [b, t, " + dModel + "], got " + keyValue.data().describe());
        }
        int batch = keyValue.size(0), t = keyValue.size(1);
        return new ProjectedKeyValue(splitHeads(k.forward(keyValue)).reshape(batch * heads, t, headDim),
                splitHeads(v.forward(keyValue)).reshape(batch * heads, t, headDim));
    }

    /**
     * Attention of query [batch, tq, d] over keys and values projected by {@link #projectKeyValue}
     * ([batch * heads, tk, headDim]); keyPadding [batch, tk] or null, no causal mask (a decoding
     * step's single query sees every cached position). The same projections and score path as
     * {@link #forward}, so a cached step reproduces the full computation.
     */
    public Variable attendProjected(Variable query, ProjectedKeyValue keyValue, Tensor keyPadding) {
        int batch = query.size(0), tq = query.size(1);
        Variable kh = keyValue.keys(), vh = keyValue.values();
        if (query.rank() != 3 || query.size(2) != dModel || kh.rank() != 3 || kh.size(0) != batch * heads || kh.size(2) != headDim
                || !java.util.Arrays.equals(kh.shape(), vh.shape())) {
            throw new IllegalArgumentException("MultiHeadAttention(d=" + dModel + ", heads=" + heads + ").attendProjected: needs query [b, tq, " + dModel
                    + "] and keys/values [b * " + heads + ", tk, " + headDim + "], got " + query.data().describe() + ", " + kh.data().describe() + ", " + vh.data().describe());
        }
        int tk = kh.size(1);
        Variable qh = splitHeads(q.forward(query));
        Variable kh4 = kh.reshape(batch, heads, tk, headDim), vh4 = vh.reshape(batch, heads, tk, headDim);
        boolean fused = !attentionDropoutActive() && io.reg4rec.engine.Attention.supports(query.data().device(), query.data().dtype(), headDim);
        Variable context = fused
                ? fusedAttention(qh, kh4, vh4, keyPadding, false)
                : composedAttention(qh, kh4, vh4, keyPadding, false);
        return out.forward(context.permute(0, 2, 1, 3).reshape(batch, tq, dModel));
    }
}
