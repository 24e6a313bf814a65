package io.reg4rec.train.rec;

import io.reg4rec.model.rec.Reg4RecConfig;
import io.reg4rec.model.rec.SasRecConfig;
import io.reg4rec.model.tokenizer.TokenizerConfig;

/**
 * The sizes of one pipeline run: tokenizer, generative model and training. Two presets:
 * {@link #paper()} for real data (the paper's M = 8, D = 300, width 128, FFN 640, 1 + 2 layers)
 * and {@link #small()} for the embedded 1,000-item synthetic dataset, sized so the whole
 * pipeline runs in a few minutes on two CPU cores: M = 4, D = 64 (64^4 token sets for 1,000
 * items; 300 codewords would leave most unused), width 64, FFN 256, 5 epochs validated on 500
 * users, the tokenizer for 30 epochs.
 *
 * @param codebooks       M
 * @param codewords       D
 * @param dModel          model width
 * @param heads           attention heads
 * @param dFeedForward    feed-forward width
 * @param encoderLayers   encoder depth
 * @param decoderLayers   decoder depth
 * @param dropout         dropout of the generative models
 * @param sasrecDropout   dropout of the SASRec baseline
 * @param maxHistory      history cap (50, the S3Rec convention)
 * @param tokenizerEpochs passes of the tokenizer over the items
 * @param train           the training loop's settings
 * @param reg4rec         decoding orders during training, beam width and d at evaluation
 * @param historyItemIds  history items of REG4Rec (and TIGER, built from the same config) also get a learned item-id embedding
 */
public record RunSettings(int codebooks, int codewords, int dModel, int heads, int dFeedForward, int encoderLayers, int decoderLayers,
                          double dropout, double sasrecDropout, int maxHistory, int tokenizerEpochs, TrainConfig train, Reg4RecTrainer.Options reg4rec,
                          boolean historyItemIds) {
    public RunSettings {
        if (codebooks < 2 || codebooks > 30) throw new IllegalArgumentException("RunSettings: codebooks M must be in 2..30, got " + codebooks);
        if (!(dropout >= 0 && dropout < 1) || !(sasrecDropout >= 0 && sasrecDropout < 1)) {
            throw new IllegalArgumentException("RunSettings: dropout must be in [0, 1), got " + dropout + " (generative) and " + sasrecDropout + " (SASRec)");
        }
        if (codewords < 2) throw new IllegalArgumentException("RunSettings: codewords D must be >= 2, got " + codewords);
        if (maxHistory < 1) throw new IllegalArgumentException("RunSettings: max history must be >= 1, got " + maxHistory);
        if (tokenizerEpochs < 1) throw new IllegalArgumentException("RunSettings: tokenizer epochs must be >= 1, got " + tokenizerEpochs);
        if (reg4rec.maxMismatches() >= codebooks) {
            throw new IllegalArgumentException("RunSettings: relaxed retrieval's d = " + reg4rec.maxMismatches() + " must be below M = " + codebooks);
        }
        new Reg4RecConfig(codebooks, codewords, 1, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, false, 1.0, historyItemIds);   // validates the widths
    }

    /**
     * Real data: the paper's sizes, dropout 0.1 (SASRec 0.2: on Beauty 0.5 ranked lower), 30 epochs
     * (patience 5), tokenizer 100 epochs.
     */
    public static RunSettings paper() {
        return new RunSettings(8, 300, 128, 4, 640, 1, 2, 0.1, 0.2, 50, 100, TrainConfig.defaults(), Reg4RecTrainer.Options.defaults(), false);
    }

    /**
     * The embedded synthetic dataset: M 4, D 64, width 64, FFN 256, 2 heads, dropout 0.1 (SASRec 0.2); 5 epochs (patience 2),
     * validation on 500 users (test on all), tokenizer 30 epochs.
     */
    public static RunSettings small() {
        return new RunSettings(4, 64, 64, 2, 256, 1, 2, 0.1, 0.2, 50, 30, TrainConfig.defaults().withEpochs(5).withPatience(2).withValidationUsers(500),
                Reg4RecTrainer.Options.defaults(), false);
    }

    public Reg4RecConfig reg4recConfig(int numCategories) {
        return new Reg4RecConfig(codebooks, codewords, numCategories, maxHistory, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, false, 1.0, historyItemIds);
    }

    /** SASRec at the same width as the generative model, 2 blocks. */
    public SasRecConfig sasrecConfig(int numItems) {
        return new SasRecConfig(numItems, maxHistory, dModel, heads, dFeedForward, 2, sasrecDropout);
    }

    /**
     * The tokenizer with M, D and epochs from here, everything else {@link TokenizerConfig#defaults()}
     * except the batch: at most the default 1,024 items but at least 8 steps per epoch (a
     * 1,000-item catalog would otherwise take one step per epoch), and at least 64 items.
     */
    public TokenizerConfig tokenizerConfig(io.reg4rec.engine.Device device, long seed, int numItems) {
        TokenizerConfig d = TokenizerConfig.defaults();
        int batch = Math.min(d.batchSize(), Math.max(64, (numItems + 7) / 8));
        return d.withCodebooks(codebooks, codewords).withTraining(d.learningRate(), tokenizerEpochs, batch).withSeed(seed).withDevice(device);
    }

    public RunSettings withCodebooks(int m, int d) {
        return new RunSettings(m, d, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, tokenizerEpochs, train, reg4rec, historyItemIds);
    }

    public RunSettings withWidths(int width, int h, int ffn) {
        return new RunSettings(codebooks, codewords, width, h, ffn, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, tokenizerEpochs, train, reg4rec, historyItemIds);
    }

    public RunSettings withLayers(int encoder, int decoder) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoder, decoder, dropout, sasrecDropout, maxHistory, tokenizerEpochs, train, reg4rec, historyItemIds);
    }

    public RunSettings withTokenizerEpochs(int e) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, e, train, reg4rec, historyItemIds);
    }

    public RunSettings withTrain(TrainConfig t) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, tokenizerEpochs, t, reg4rec, historyItemIds);
    }

    public RunSettings withReg4rec(Reg4RecTrainer.Options o) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, tokenizerEpochs, train, o, historyItemIds);
    }

    public RunSettings withSasrecDropout(double p) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, p, maxHistory, tokenizerEpochs, train, reg4rec, historyItemIds);
    }

    public RunSettings withDropout(double p) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, p, sasrecDropout, maxHistory, tokenizerEpochs, train, reg4rec, historyItemIds);
    }

    public RunSettings withHistoryItemIds(boolean on) {
        return new RunSettings(codebooks, codewords, dModel, heads, dFeedForward, encoderLayers, decoderLayers, dropout, sasrecDropout, maxHistory, tokenizerEpochs, train, reg4rec, on);
    }
}
