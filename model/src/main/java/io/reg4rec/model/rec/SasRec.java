package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.TopK;
import io.reg4rec.model.nn.CrossEntropy;
import io.reg4rec.model.nn.Dropout;
import io.reg4rec.model.nn.Embedding;
import io.reg4rec.model.nn.Init;
import io.reg4rec.model.nn.Module;
import io.reg4rec.model.nn.TransformerEncoder;

/**
 * The SASRec baseline: causal self-attention over item-id embeddings plus learned positions
 * (pre-norm blocks of {@link TransformerEncoder}), item scores the dot product of the hidden
 * state with the item embedding table (shared input/output embeddings).
 *
 * <p>Sequences are right-aligned (the newest item in the last column, position maxLength - 1)
 * and left-padded; padding is masked out of attention. Training: next-item cross-entropy with a
 * full softmax over all items at every position. Evaluation: scores of all items from the last
 * position, ranked.
 */
public final class SasRec extends Module {
    private final SasRecConfig config;
    private final Device device;
    private final Embedding items;
    private final Embedding positions;
    private final Dropout embeddingDropout;
    private final TransformerEncoder encoder;

    public SasRec(Device device, SasRecConfig config, long seed) {
        this.config = config;
        this.device = device;
        double std = 1.0 / Math.sqrt(config.dModel());
        this.items = registerModule("items", new Embedding(device, config.numItems() + 1, config.dModel(), std, Init.childSeed(seed, 0)));
        this.positions = registerModule("positions", new Embedding(device, config.maxLength(), config.dModel(), std, Init.childSeed(seed, 1)));
        this.embeddingDropout = registerModule("dropout", new Dropout(config.dropout(), Init.childSeed(seed, 2)));
        this.encoder = registerModule("encoder", new TransformerEncoder(device, config.transformer(), config.layers(), Init.childSeed(seed, 3)));
    }

    public SasRecConfig config() { return config; }

    /** Hidden states [batch, len, d] of the sequences' last maxLength items, right-aligned; len = the longest (at least 1). */
    public Variable hidden(int[][] sequences) {
        int batch = sequences.length;
        if (batch == 0) throw new IllegalArgumentException("SasRec: no sequences");
        int len = 1;
        for (int[] s : sequences) len = Math.max(len, Math.min(s.length, config.maxLength()));
        long[] ids = new long[batch * len], pos = new long[batch * len];
        float[] padding = new float[batch * len];
        for (int b = 0; b < batch; b++) {
            int[] s = sequences[b];
            int n = Math.min(s.length, config.maxLength());
            for (int j = 0; j < len; j++) {
                int k = j - (len - n);
                pos[b * len + j] = config.maxLength() - len + j;
                if (k < 0) {
                    padding[b * len + j] = 1f;
                } else {
                    int item = s[s.length - n + k];
                    if (item < 1 || item > config.numItems()) throw new IllegalArgumentException("SasRec: item " + item + " outside 1.." + config.numItems());
                    ids[b * len + j] = item;
                }
            }
        }
        try (Tensor idT = Tensor.of(device, ids, batch, len); Tensor posT = Tensor.of(device, pos, batch, len)) {
            Tensor pad = Tensor.of(device, padding, batch, len);
            Variable x = embeddingDropout.forward(items.forward(idT).add(positions.forward(posT)));
            return encoder.forward(x, pad, true);
        }
    }

    /** Logits [rows, numItems + 1] of hidden states [rows, d] against every item; padding item 0 masked. */
    private Variable itemLogits(Variable rows) {
        Variable logits = rows.matmul(items.weight().transpose(0, 1));
        float[] mask = new float[config.numItems() + 1];
        mask[0] = 1f;
        try (Tensor m = Tensor.of(device, mask, 1, config.numItems() + 1)) {
            return logits.maskedFill(m, Reg4RecModel.MASKED_LOGIT);
        }
    }

    /**
     * Next-item cross-entropy over all positions of the sequences (each the user's items, oldest
     * first): position t of the input predicts item t + 1; the mean over predicted positions.
     */
    public Variable loss(int[][] sequences) {
        int batch = sequences.length;
        int[][] inputs = new int[batch][];
        int len = 1;
        for (int b = 0; b < batch; b++) {
            int[] s = sequences[b];
            int end = Math.max(s.length - 1, 0);          // the last item is only ever a target
            int n = Math.min(end, config.maxLength());
            inputs[b] = java.util.Arrays.copyOfRange(s, end - n, end);
            len = Math.max(len, n);
        }
        long[] targets = new long[batch * len];
        java.util.Arrays.fill(targets, CrossEntropy.IGNORE);
        for (int b = 0; b < batch; b++) {
            int[] s = sequences[b];
            int n = inputs[b].length;
            for (int k = 0; k < n; k++) targets[b * len + (len - n) + k] = s[s.length - n + k];
        }
        Variable h = hidden(inputs);
        Variable logits = itemLogits(h.reshape(batch * len, config.dModel()));
        try (Tensor t = Tensor.of(device, targets, batch * len)) {
            return CrossEntropy.loss(logits, t);
        }
    }

    /** Scores [batch][numItems + 1] of every item as the next one (entry 0, padding, is very negative). */
    public float[][] scores(int[][] histories) {
        int batch = histories.length;
        float[] flat;
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            Variable h = hidden(histories);
            Variable last = h.select(1, h.size(1) - 1);
            flat = itemLogits(last).data().toFloatArray();
        }
        int width = config.numItems() + 1;
        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) out[b] = java.util.Arrays.copyOfRange(flat, b * width, (b + 1) * width);
        return out;
    }

    /** The item embedding table [numItems + 1, dModel] (row 0: padding), shared by the input and the output scores. */
    public Tensor itemTable() {
        return items.weight().data();
    }

    /** The k best items (1..numItems) per history, best first (ties: lower id first); the ranking runs on the model's device. */
    public int[][] topK(int[][] histories, int k) {
        if (k < 1) throw new IllegalArgumentException("SasRec.topK: k must be positive, got " + k);
        int batch = histories.length, kept = Math.min(k, config.numItems());
        int[] ids;
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            Variable h = hidden(histories);
            Variable last = h.select(1, h.size(1) - 1);
            Tensor logits = itemLogits(last).data();
            try (Tensor items = logits.slice(1, 1, config.numItems() + 1).contiguous(); TopK top = items.topk(kept)) {   // column 0 is padding
                ids = (int[]) top.indices().toHost();
            }
        }
        int[][] out = new int[batch][kept];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < kept; i++) out[b][i] = ids[b * kept + i] + 1;
        }
        return out;
    }
}
