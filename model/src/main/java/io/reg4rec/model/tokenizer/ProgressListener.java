package io.reg4rec.model.tokenizer;

/** Hears about tokenizer training once per epoch (e.g. to drive a progress bar or a log line). */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = progress -> {};

    void onEpoch(EpochProgress progress);

    /**
     * Means over the epoch's batches of the per-item losses (see {@link TokenizerReport}).
     *
     * @param orthLoss NaN for tokenizers without one (RQ-VAE)
     * @param reseeded dead codewords re-seeded during the epoch, over all codebooks
     */
    record EpochProgress(int epoch, int epochs, long steps, double loss, double reconLoss, double orthLoss, double vqLoss,
                         int reseeded, double elapsedSeconds) {}
}
