package io.reg4rec.model.rec;

import io.reg4rec.model.nn.TransformerConfig;

/**
 * Sizes of the generative model (SPEC section 2).
 *
 * @param codebooks      M, parallel codebooks (or RQ levels for TIGER)
 * @param codewords      D, tokens per codebook
 * @param numCategories  classes of the category head
 * @param maxHistory     most recent history items the encoder sees
 * @param dModel         model width
 * @param heads          attention heads
 * @param dFeedForward   feed-forward width
 * @param encoderLayers  encoder depth
 * @param decoderLayers  decoder depth
 * @param dropout        dropout on embeddings, sublayers and attention weights
 * @param fixedOrder     false: CRSS (any unused codebook may come next, one joint softmax over
 *                       the unused (codebook, token) pairs); true: codebook s at step s
 *                       (TIGER, and the paper's "w/o CRSS" ablation), a D-way softmax per step
 * @param categoryWeight weight of L_cate against L_token
 * @param historyItemIds a history item's input also gets a learned embedding of its item id
 *                       (numItems + 1 rows) beside its token embeddings (absent in run files
 *                       written before this option: false)
 */
public record Reg4RecConfig(int codebooks, int codewords, int numCategories, int maxHistory, int dModel, int heads, int dFeedForward,
                            int encoderLayers, int decoderLayers, double dropout, boolean fixedOrder, double categoryWeight,
                            boolean historyItemIds) {
    public Reg4RecConfig {
        if (codebooks <= 0 || codebooks > 30 || codewords <= 0 || numCategories <= 0 || maxHistory <= 0 || encoderLayers < 0 || decoderLayers <= 0
                || !(dropout >= 0 && dropout < 1) || !(categoryWeight >= 0)) {
            throw new IllegalArgumentException("Reg4RecConfig: needs 1..30 codebooks, positive D, categories, history, decoder layers, dropout in [0, 1) and"
                    + " categoryWeight >= 0, got M=" + codebooks + ", D=" + codewords + ", C=" + numCategories + ", history " + maxHistory
                    + ", layers " + encoderLayers + "/" + decoderLayers + ", dropout " + dropout + ", categoryWeight " + categoryWeight);
        }
        transformer(dModel, heads, dFeedForward, dropout);   // validates the widths
    }

    /** The paper's sizes: width 128, FFN 640, 1 encoder and 2 decoder layers; 4 heads, dropout 0.1, history 50. */
    public static Reg4RecConfig paper(int codebooks, int codewords, int numCategories) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, 50, 128, 4, 640, 1, 2, 0.1, false, 1.0, false);
    }

    /** The same body decoding in the fixed order 0..M-1 (TIGER over RQ-VAE levels). */
    public Reg4RecConfig withFixedOrder(boolean fixed) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixed, categoryWeight, historyItemIds);
    }

    public Reg4RecConfig withWidths(int dModel, int heads, int dFeedForward) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, historyItemIds);
    }

    public Reg4RecConfig withLayers(int encoderLayers, int decoderLayers) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, historyItemIds);
    }

    public Reg4RecConfig withDropout(double dropout) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, historyItemIds);
    }

    public Reg4RecConfig withMaxHistory(int maxHistory) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, historyItemIds);
    }

    public Reg4RecConfig withCategoryWeight(double categoryWeight) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, historyItemIds);
    }

    /** The same model with (or without) the learned item-id embedding of history items. */
    public Reg4RecConfig withHistoryItemIds(boolean on) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, fixedOrder, categoryWeight, on);
    }

    public TransformerConfig transformer() {
        return transformer(dModel, heads, dFeedForward, dropout);
    }

    private static TransformerConfig transformer(int dModel, int heads, int dFeedForward, double dropout) {
        return new TransformerConfig(dModel, heads, dFeedForward, dropout);
    }

    /** Size of the joint (codebook, token) output: M * D. */
    public int pairs() { return codebooks * codewords; }
}
