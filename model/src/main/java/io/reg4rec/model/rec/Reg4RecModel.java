package io.reg4rec.model.rec;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.CrossEntropy;
import io.reg4rec.model.nn.DecoderCache;
import io.reg4rec.model.nn.Dropout;
import io.reg4rec.model.nn.Embedding;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Linear;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.nn.TransformerDecoder;
import io.reg4rec.model.nn.TransformerEncoder;

/**
 * The REG4Rec generative model (SPEC section 2): an encoder over the user's history and a decoder
 * that emits the next item's token set one (codebook, token) pair per step.
 *
 * <p><b>Encoder.</b> A history item is the sum of its M token embeddings (one table of M * D rows,
 * row r * D + c for token c of codebook r) plus a learned position embedding counted from the most
 * recent item (position 0 = the last item), so the newest items keep their embedding whatever the
 * history length. Histories are truncated to the last {@code maxHistory} items; shorter ones are
 * padded and masked out of attention. With {@link Reg4RecConfig#historyItemIds()} the item also
 * gets a learned embedding of its id ("history_items", numItems + 1 rows, row 0 padding), as
 * SASRec embeds items; the decoder side stays token-only.
 *
 * <p><b>Decoder.</b> Input 0 is BOS; input s is the pair chosen at step s - 1, embedded as
 * token embedding (the encoder's table) + codebook-identity embedding + step position. The state
 * at step s feeds the token head, M * D logits (M heads of D codewords, computed as one matrix),
 * and the category head.
 *
 * <p><b>The step distribution.</b> One softmax over all (codebook, token) pairs of the codebooks
 * still allowed at that step (used codebooks masked to {@link #MASKED_LOGIT}): the probability
 * that the next step is "codebook r takes token c". This is the policy whose argmax CRSS takes
 * (Eq. 5: the most confident pair over all active codebooks), whose log-probabilities sum to a
 * path's log-likelihood in beam search and GRPO, and whose cross-entropy is L_token (Eq. 6). A
 * per-codebook softmax would not make confidences of different codebooks a distribution over the
 * same choice. With {@link Reg4RecConfig#fixedOrder()} only codebook s is allowed at step s, which
 * makes the joint softmax the usual D-way softmax of TIGER.
 */
public final class Reg4RecModel extends Module {
    /** The logit given to pairs of codebooks that may not be chosen (finite, so masked rows never produce NaNs). */
    public static final double MASKED_LOGIT = -1e9;

    /** The encoder's output for a batch of users: memory [users, len, d] and padding [users, len] (F32, 1 = padding). */
    public record EncodedHistory(Variable memory, Tensor padding) {
        public int users() { return memory.size(0); }
    }

    /** Teacher-forced outputs: token logits [users, M, M*D] (disallowed codebooks masked) and category logits [users, M, C]. */
    public record TeacherForced(Variable tokenLogits, Variable categoryLogits) {}

    /**
     * The pre-training loss: {@code total = tokenLoss + categoryWeight * categoryLoss}, each the
     * mean over examples and steps (Eq. 6's sum over the M steps is M times tokenLoss);
     * stepAccuracy is the fraction of steps whose argmax pair is the target pair, categoryAccuracy
     * the fraction whose argmax category is the target's (both scalars on the model's device, so
     * reading them is the caller's choice of when to synchronise); catalogLoss is
     * {@link #catalogLoss}'s term, null when its weight is 0.
     */
    public record PretrainLoss(Variable total, Variable tokenLoss, Variable categoryLoss, Variable catalogLoss, Tensor stepAccuracy, Tensor categoryAccuracy) {}

    /** One incremental decoding step: token logits [rows, M*D] (unmasked) and category logits [rows, C]. */
    public record StepOutput(Variable tokenLogits, Variable categoryLogits) {}

    private final Reg4RecConfig config;
    private final ItemCatalog catalog;
    private final Device device;
    private final int bosRow;
    private final Embedding tokens;
    private final Embedding historyItems;   // null unless config.historyItemIds()
    private final Embedding historyPositions;
    private final Embedding codebookIds;
    private final Embedding stepPositions;
    private final Dropout embeddingDropout;
    private final TransformerEncoder encoder;
    private final TransformerDecoder decoder;
    private final Linear tokenHead;
    private final Linear categoryHead;
    private Tensor catalogPairs;   // the catalog term's gather index, built on first use

    public Reg4RecModel(Device device, Reg4RecConfig config, ItemCatalog catalog, long seed) {
        if (catalog.codebooks() != config.codebooks() || catalog.codewords() != config.codewords() || catalog.numCategories() != config.numCategories()) {
            throw new IllegalArgumentException("Reg4RecModel: config M=" + config.codebooks() + ", D=" + config.codewords() + ", C=" + config.numCategories()
                    + " does not match " + catalog);
        }
        this.config = config;
        this.catalog = catalog;
        this.device = device;
        int d = config.dModel(), m = config.codebooks();
        double std = 1.0 / Math.sqrt(d);
        this.bosRow = config.pairs();
        this.tokens = registerModule("tokens", new Embedding(device, config.pairs() + 1, d, std, Init.childSeed(seed, 0)));
        // registered only when on, so checkpoints of models without it keep their exact parameter set
        this.historyItems = config.historyItemIds()
                ? registerModule("history_items", new Embedding(device, catalog.numItems() + 1, d, std, Init.childSeed(seed, 9))) : null;
        this.historyPositions = registerModule("history_positions", new Embedding(device, config.maxHistory(), d, std, Init.childSeed(seed, 1)));
        this.codebookIds = registerModule("codebook_ids", new Embedding(device, m + 1, d, std, Init.childSeed(seed, 2)));
        this.stepPositions = registerModule("step_positions", new Embedding(device, m, d, std, Init.childSeed(seed, 3)));
        this.embeddingDropout = registerModule("dropout", new Dropout(config.dropout(), Init.childSeed(seed, 4)));
        this.encoder = registerModule("encoder", new TransformerEncoder(device, config.transformer(), config.encoderLayers(), Init.childSeed(seed, 5)));
        this.decoder = registerModule("decoder", new TransformerDecoder(device, config.transformer(), config.decoderLayers(), Init.childSeed(seed, 6)));
        this.tokenHead = registerModule("token_head", new Linear(device, d, config.pairs(), true, Init.childSeed(seed, 7)));
        this.categoryHead = registerModule("category_head", new Linear(device, d, config.numCategories(), true, Init.childSeed(seed, 8)));
    }

    public Reg4RecConfig config() { return config; }

    public ItemCatalog catalog() { return catalog; }

    public Device device() { return device; }

    // ---------------------------------------------------------------- encoder

    /** Encodes histories (item ids 1..numItems, oldest first; the last maxHistory are used). */
    public EncodedHistory encode(int[][] histories) {
        int users = histories.length;
        if (users == 0) throw new IllegalArgumentException("Reg4RecModel.encode: no histories");
        int m = config.codebooks(), dCodes = config.codewords();
        int len = 1;
        for (int[] h : histories) len = Math.max(len, Math.min(h.length, config.maxHistory()));
        long[] tokenRows = new long[users * len * m];
        long[] positions = new long[users * len];
        long[] itemRows = new long[users * len];   // 0 (the padding row) where the cell is padding
        float[] padding = new float[users * len];
        for (int u = 0; u < users; u++) {
            int[] h = histories[u];
            int n = Math.min(h.length, config.maxHistory());
            for (int j = 0; j < len; j++) {
                int k = j - (len - n);   // right-aligned: the newest item sits in the last column
                int cell = u * len + j;
                if (k < 0) {
                    padding[cell] = 1f;
                    continue;
                }
                int item = catalog.checkItem(h[h.length - n + k]);
                for (int r = 0; r < m; r++) tokenRows[cell * m + r] = (long) r * dCodes + catalog.token(item, r);
                positions[cell] = n - 1 - k;
                itemRows[cell] = item;
            }
        }
        Tensor tokenIndex = Tensor.of(device, tokenRows, users, len, m);
        Tensor positionIndex = Tensor.of(device, positions, users, len);
        Tensor paddingMask = Tensor.of(device, padding, users, len);
        Variable items = tokens.forward(tokenIndex).sum(2, false).add(historyPositions.forward(positionIndex));
        if (historyItems != null) {
            try (Tensor itemIndex = Tensor.of(device, itemRows, users, len)) {
                items = items.add(historyItems.forward(itemIndex));
            }
        }
        Variable memory = encoder.forward(embeddingDropout.forward(items), paddingMask);
        tokenIndex.close();
        positionIndex.close();
        return new EncodedHistory(memory, paddingMask);
    }

    // ---------------------------------------------------------------- teacher forcing

    /**
     * Teacher-forced decoding of each target's token set in the given order (orders[u] a
     * permutation of the codebooks; null in fixed-order mode means 0..M-1): step s sees BOS and
     * the target's pairs of order[0..s-1].
     */
    public TeacherForced teacherForced(EncodedHistory encoded, int[] targets, int[][] orders) {
        int users = targets.length, m = config.codebooks(), dCodes = config.codewords();
        if (encoded.users() != users) throw new IllegalArgumentException("Reg4RecModel.teacherForced: " + encoded.users() + " histories, " + users + " targets");
        int[][] o = checkOrders(orders, users);
        long[] tokenRows = new long[users * m], codebookRows = new long[users * m], positions = new long[users * m];
        float[] disallowed = new float[users * m * m];
        for (int u = 0; u < users; u++) {
            int target = catalog.checkItem(targets[u]);
            int used = 0;
            for (int s = 0; s < m; s++) {
                int cell = u * m + s;
                if (s == 0) {
                    tokenRows[cell] = bosRow;
                    codebookRows[cell] = m;
                } else {
                    int c = o[u][s - 1];
                    tokenRows[cell] = (long) c * dCodes + catalog.token(target, c);
                    codebookRows[cell] = c;
                    used |= 1 << c;
                }
                positions[cell] = s;
                for (int c = 0; c < m; c++) if (isDisallowed(used, s, c)) disallowed[cell * m + c] = 1f;
            }
        }
        Variable x = embedDecoderInputs(tokenRows, codebookRows, positions, users, m);
        Variable h = decoder.forward(x, null, encoded.memory(), encoded.padding());
        Variable tokenLogits;
        try (Tensor mask = Tensor.of(device, disallowed, users, m, m)) {
            tokenLogits = maskCodebooks(tokenHead.forward(h), mask);
        }
        return new TeacherForced(tokenLogits, categoryHead.forward(h));
    }

    /** L_token + categoryWeight * L_cate (Eq. 6 and 7) for histories -> targets decoded in the given orders. */
    public PretrainLoss loss(int[][] histories, int[] targets, int[][] orders) {
        return loss(histories, targets, orders, false, 0);
    }

    /**
     * As {@link #loss(int[][], int[], int[][])}; with {@code setTargets} the token term is
     * {@link #setTokenLoss} instead of Eq. 6's cross-entropy of the order's next pair, and a
     * positive {@code catalogWeight} adds {@code catalogWeight *} {@link #catalogLoss} to the total.
     */
    public PretrainLoss loss(int[][] histories, int[] targets, int[][] orders, boolean setTargets, double catalogWeight) {
        int users = targets.length, m = config.codebooks(), dCodes = config.codewords();
        if (histories.length != users) throw new IllegalArgumentException("Reg4RecModel.loss: " + histories.length + " histories, " + users + " targets");
        if (!(catalogWeight >= 0)) throw new IllegalArgumentException("Reg4RecModel.loss: catalog weight must be >= 0, got " + catalogWeight);
        int[][] o = checkOrders(orders, users);
        TeacherForced out = teacherForced(encode(histories), targets, o);
        long[] pairTargets = new long[users * m], categoryTargets = new long[users * m];
        for (int u = 0; u < users; u++) {
            for (int s = 0; s < m; s++) {
                pairTargets[u * m + s] = (long) o[u][s] * dCodes + catalog.token(targets[u], o[u][s]);
                categoryTargets[u * m + s] = catalog.category(targets[u]);
            }
        }
        Variable tokenLoss, categoryLoss;
        Tensor stepAccuracy, categoryAccuracy;
        try (Tensor pairs = Tensor.of(device, pairTargets, users, m); Tensor cats = Tensor.of(device, categoryTargets, users, m)) {
            tokenLoss = setTargets ? setTokenLoss(out.tokenLogits(), targets, o) : CrossEntropy.loss(out.tokenLogits(), pairs);
            categoryLoss = CrossEntropy.loss(out.categoryLogits(), cats);
            stepAccuracy = agreement(out.tokenLogits(), pairs);
            categoryAccuracy = agreement(out.categoryLogits(), cats);
        }
        Variable total = config.categoryWeight() == 0 ? tokenLoss : tokenLoss.add(categoryLoss.mul(config.categoryWeight()));
        Variable catalogLoss = null;
        if (catalogWeight > 0) {
            catalogLoss = catalogLoss(out.tokenLogits().select(1, 0), targets);
            total = total.add(catalogLoss.mul(catalogWeight));
        }
        return new PretrainLoss(total, tokenLoss, categoryLoss, catalogLoss, stepAccuracy, categoryAccuracy);
    }

    /**
     * The catalog term (our addition to Eq. 6-7, off by default): a full softmax over the
     * catalog's items at the first step, item i scored by the sum of the BOS state's logits of
     * its M pairs, s_i = sum_r l[r, c_r(i)]; the loss is -log softmax(s)[target], mean over
     * examples. Eq. 6 trains each step's pair against the other pairs only; this term ranks the
     * target's whole token set against every other item's, as SASRec's full softmax ranks item
     * ids, which is what the first beam step (the pairs of largest BOS logits) needs.
     *
     * @param firstStepLogits the BOS step's pair logits [users, M*D] (nothing is masked at the first CRSS step)
     */
    Variable catalogLoss(Variable firstStepLogits, int[] targets) {
        if (config.fixedOrder()) throw new IllegalStateException("Reg4RecModel: the catalog loss is for CRSS (any-order) models, not fixed-order ones");
        int users = targets.length, m = config.codebooks(), items = catalog.numItems();
        long[] itemTargets = new long[users];
        for (int u = 0; u < users; u++) itemTargets[u] = catalog.checkItem(targets[u]) - 1L;
        try (Tensor rows = catalogPairs().expand(users, items * m); Tensor target = Tensor.of(device, itemTargets, users)) {
            Variable itemLogits = firstStepLogits.gather(1, rows).reshape(users, items, m).sum(2, false);   // s_i = sum_r l[r, c_r(i)]
            return CrossEntropy.loss(itemLogits, target);
        }
    }

    /**
     * The order-free token loss: at step s, -log of the summed probability of every pair of the
     * target's token set whose codebook is still unused (the order's prefix fed, as in Eq. 6), so
     * the pair the order happens to put next is not singled out; at the last step it equals
     * Eq. 6's term. Mean over examples and steps.
     */
    Variable setTokenLoss(Variable tokenLogits, int[] targets, int[][] orders) {
        int users = targets.length, m = config.codebooks(), dCodes = config.codewords();
        if (config.fixedOrder()) throw new IllegalStateException("Reg4RecModel: the set token loss is for CRSS (any-order) models, not fixed-order ones");
        long[] index = new long[users * m * m];
        float[] decoded = new float[users * m * m];
        for (int u = 0; u < users; u++) {
            int used = 0;
            for (int s = 0; s < m; s++) {
                for (int c = 0; c < m; c++) {
                    int cell = (u * m + s) * m + c;
                    index[cell] = (long) c * dCodes + catalog.token(targets[u], c);
                    if ((used & (1 << c)) != 0) decoded[cell] = 1f;
                }
                used |= 1 << orders[u][s];
            }
        }
        try (Tensor pairIndex = Tensor.of(device, index, users, m, m); Tensor decodedMask = Tensor.of(device, decoded, users, m, m)) {
            Variable targetLogProbs = tokenLogits.logSoftmax(-1).gather(2, pairIndex).maskedFill(decodedMask, MASKED_LOGIT);
            Variable peak = targetLogProbs.max(2, true).detach();
            Variable logSum = targetLogProbs.sub(peak).exp().sum(2, true).log().add(peak);
            return logSum.meanAll().neg();
        }
    }

    /** Row r * D + c_r(i) of every item i's M pairs, [1, numItems * M] on the model's device: built once (no upload per step), released by {@link #close}. */
    private Tensor catalogPairs() {
        if (catalogPairs == null) {
            int m = config.codebooks(), dCodes = config.codewords(), items = catalog.numItems();
            long[] pairOfItem = new long[items * m];
            for (int i = 0; i < items; i++) for (int r = 0; r < m; r++) pairOfItem[i * m + r] = (long) r * dCodes + catalog.token(i + 1, r);
            catalogPairs = Tensor.of(device, pairOfItem, 1, items * m).unscoped();
        }
        return catalogPairs;
    }

    @Override
    public void close() {
        if (catalogPairs != null) catalogPairs.close();
        catalogPairs = null;
        super.close();
    }

    /** Fraction of rows whose argmax over the last axis equals the target (I64, the logits' leading shape), as a scalar on the logits' device. */
    private static Tensor agreement(Variable logits, Tensor targets) {
        try (Tensor argmax = logits.data().argmax(-1, false); Tensor hits = argmax.binary(BinaryOp.EQ, targets);
             Tensor hits32 = hits.to(DType.F32); Tensor count = hits32.sumAll()) {
            return count.div(targets.numel());
        }
    }

    private int[][] checkOrders(int[][] orders, int users) {
        int m = config.codebooks();
        if (orders == null) {
            if (!config.fixedOrder()) throw new IllegalArgumentException("Reg4RecModel: CRSS training needs a decoding order per example");
            return DecodingOrders.identity(users, m);
        }
        if (orders.length != users) throw new IllegalArgumentException("Reg4RecModel: " + orders.length + " orders for " + users + " examples");
        for (int u = 0; u < users; u++) {
            int seen = 0;
            if (orders[u].length != m) throw new IllegalArgumentException("Reg4RecModel: order " + u + " has " + orders[u].length + " steps, M = " + m);
            for (int s = 0; s < m; s++) {
                int c = orders[u][s];
                if (c < 0 || c >= m || (seen & (1 << c)) != 0) throw new IllegalArgumentException("Reg4RecModel: order " + u + " = " + java.util.Arrays.toString(orders[u]) + " is not a permutation of 0.." + (m - 1));
                if (config.fixedOrder() && c != s) throw new IllegalArgumentException("Reg4RecModel: a fixed-order model decodes codebooks 0..M-1 in turn, got order " + java.util.Arrays.toString(orders[u]));
                seen |= 1 << c;
            }
        }
        return orders;
    }

    // ---------------------------------------------------------------- incremental decoding

    /** A decoding cache over the encoded users, one row per user (inference: under NoGrad). */
    public DecoderCache startDecoding(EncodedHistory encoded) {
        return decoder.startCache(encoded.memory(), encoded.padding());
    }

    /**
     * Decodes position {@code cache.length()} for every row: at position 0 the input is BOS (the
     * arrays are ignored and may be null); at position s the row's pair chosen at step s - 1.
     * The cache advances by one position.
     */
    public StepOutput decodeStep(DecoderCache cache, int[] inputCodebooks, int[] inputTokens) {
        int rows = cache.rows(), step = cache.length(), m = config.codebooks();
        if (step >= m) throw new IllegalStateException("Reg4RecModel.decodeStep: all " + m + " steps already decoded");
        long[] tokenRows = new long[rows], codebookRows = new long[rows], positions = new long[rows];
        for (int r = 0; r < rows; r++) {
            positions[r] = step;
            if (step == 0) {
                tokenRows[r] = bosRow;
                codebookRows[r] = m;
            } else {
                int c = inputCodebooks[r], t = inputTokens[r];
                if (c < 0 || c >= m || t < 0 || t >= config.codewords()) {
                    throw new IllegalArgumentException("Reg4RecModel.decodeStep: row " + r + " input (" + c + ", " + t + ") outside M=" + m + ", D=" + config.codewords());
                }
                tokenRows[r] = (long) c * config.codewords() + t;
                codebookRows[r] = c;
            }
        }
        Variable x = embedDecoderInputs(tokenRows, codebookRows, positions, rows, 1);
        Variable h = decoder.step(x, cache).reshape(rows, config.dModel());
        return new StepOutput(tokenHead.forward(h), categoryHead.forward(h));
    }

    /**
     * Whether codebook c may not be chosen at step {@code step} when the codebooks in
     * {@code usedBits} are used: CRSS forbids used codebooks, fixed order every codebook but step.
     */
    public boolean isDisallowed(int usedBits, int step, int c) {
        return config.fixedOrder() ? c != step : (usedBits & (1 << c)) != 0;
    }

    /** The 0/1 F32 mask [rows, M] of codebooks each row may not choose at this step. */
    public Tensor disallowedCodebooks(int[] usedBits, int step) {
        int m = config.codebooks();
        float[] mask = new float[usedBits.length * m];
        for (int r = 0; r < usedBits.length; r++) {
            for (int c = 0; c < m; c++) if (isDisallowed(usedBits[r], step, c)) mask[r * m + c] = 1f;
        }
        return Tensor.of(device, mask, usedBits.length, m);
    }

    /** Log-probabilities [rows, M*D] of the step distribution: disallowed codebooks [rows, M] masked, one softmax over the rest. */
    public Variable maskedLogProbs(Variable tokenLogits, Tensor disallowedCodebooks) {
        return maskCodebooks(tokenLogits, disallowedCodebooks).logSoftmax(-1);
    }

    /** Log-probabilities [rows, M*D] with individual pairs disallowed (mask [rows, M*D], 1 = disallowed), e.g. a prefix constraint. */
    public Variable maskedPairLogProbs(Variable tokenLogits, Tensor disallowedPairs) {
        return tokenLogits.maskedFill(disallowedPairs, MASKED_LOGIT).logSoftmax(-1);
    }

    /** logits [..., M*D] with every pair of a codebook flagged in disallowed [..., M] set to {@link #MASKED_LOGIT}. */
    private Variable maskCodebooks(Variable logits, Tensor disallowed) {
        int[] shape = logits.shape();
        int[] split = java.util.Arrays.copyOf(shape, shape.length + 1);
        split[shape.length - 1] = config.codebooks();
        split[shape.length] = config.codewords();
        int[] maskShape = java.util.Arrays.copyOf(disallowed.shape(), disallowed.rank() + 1);
        maskShape[disallowed.rank()] = 1;
        try (Tensor mask = disallowed.reshape(maskShape)) {
            return logits.reshape(split).maskedFill(mask, MASKED_LOGIT).reshape(shape);
        }
    }

    private Variable embedDecoderInputs(long[] tokenRows, long[] codebookRows, long[] positions, int rows, int len) {
        try (Tensor t = Tensor.of(device, tokenRows, rows, len); Tensor c = Tensor.of(device, codebookRows, rows, len);
             Tensor p = Tensor.of(device, positions, rows, len)) {
            Variable x = tokens.forward(t).add(codebookIds.forward(c)).add(stepPositions.forward(p));
            return embeddingDropout.forward(x);
        }
    }

    /** Category probabilities [rows, C] from category logits, as a host array (row-major). */
    static float[] categoryProbabilities(Variable categoryLogits) {
        try (Tensor p = categoryLogits.data().softmax(-1)) {
            return p.toFloatArray();
        }
    }
}
