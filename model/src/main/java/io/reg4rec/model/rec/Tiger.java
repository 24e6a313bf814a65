package io.reg4rec.model.rec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The TIGER baseline's decoding side on the shared encoder-decoder body: a
 * {@link Reg4RecModel} in fixed-order mode (codebook s, an RQ-VAE level, at step s; a D-way
 * softmax per step; trained by the same teacher-forced loss in order 0..M-1) decoded by
 * prefix-constrained beam search over a {@link TokenTrie} of the catalog's token sequences, so
 * every beam is a valid item. A history item is embedded as the sum of its level tokens (as in
 * REG4Rec) rather than as M separate encoder positions.
 */
public final class Tiger {
    private final Reg4RecModel model;
    private final TokenTrie trie;
    private final CrssDecoder decoder;

    public Tiger(Reg4RecModel model) {
        if (!model.config().fixedOrder()) throw new IllegalArgumentException("Tiger: needs a fixed-order model (Reg4RecConfig.withFixedOrder(true))");
        this.model = model;
        this.trie = new TokenTrie(model.catalog());
        this.decoder = new CrssDecoder(model);
    }

    public Reg4RecModel model() { return model; }

    public TokenTrie trie() { return trie; }

    /** The fixed-order teacher-forced loss (token CE per level + category CE). */
    public Reg4RecModel.PretrainLoss loss(int[][] histories, int[] targets) {
        return model.loss(histories, targets, null);
    }

    /** Per user, up to beamWidth valid item sequences, best first. */
    public List<List<DecodedPath>> beamSearch(int[][] histories, int beamWidth) {
        return decoder.beamSearch(histories, beamWidth, CrssDecoder.MergeRule.MAX, false, trie);
    }

    /** Items of the beams in score order (items sharing a sequence in id order), up to topK. */
    public int[] rank(List<DecodedPath> beams, int topK) {
        List<DecodedPath> sorted = new ArrayList<>(beams);
        sorted.sort(Comparator.comparingDouble((DecodedPath p) -> -p.score()));
        List<Integer> out = new ArrayList<>();
        for (DecodedPath p : sorted) {
            for (int item : trie.items(p.tokens())) {
                if (out.size() == topK) break;
                if (!out.contains(item)) out.add(item);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
