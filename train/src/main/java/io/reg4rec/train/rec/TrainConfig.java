package io.reg4rec.train.rec;

/**
 * Settings of the generic training loop ({@link TrainingLoop}).
 *
 * @param epochs          most passes over the training units
 * @param batchSize       training units per optimizer step
 * @param learningRate    peak learning rate of AdamW
 * @param weightDecay     AdamW's decoupled weight decay (matrices only, not biases and norms)
 * @param warmupFraction  share of all steps spent in the linear warm-up before the cosine decay
 * @param finalLrFraction the cosine decays to learningRate * finalLrFraction at the last epoch
 * @param gradClip        global L2 norm the gradients are clipped to (0 = off)
 * @param patience        epochs without a better validation NDCG@10 before stopping (0 = never stop early)
 * @param evalBatch       users per ranking batch in validation and test
 * @param validationUsers validate on the first this-many evaluable users (0 = all); test always uses all
 * @param seed            seeds data order and decoding orders (model weights have their own seed)
 */
public record TrainConfig(int epochs, int batchSize, double learningRate, double weightDecay, double warmupFraction, double finalLrFraction,
                          double gradClip, int patience, int evalBatch, int validationUsers, long seed) {
    public TrainConfig {
        StringBuilder problems = new StringBuilder();
        if (epochs < 0) problems.append(" epochs ").append(epochs).append(" < 0;");
        if (batchSize < 1) problems.append(" batch size ").append(batchSize).append(" < 1;");
        if (!(learningRate > 0)) problems.append(" learning rate ").append(learningRate).append(" must be > 0;");
        if (!(weightDecay >= 0)) problems.append(" weight decay ").append(weightDecay).append(" must be >= 0;");
        if (!(warmupFraction >= 0 && warmupFraction < 1)) problems.append(" warm-up fraction ").append(warmupFraction).append(" outside [0, 1);");
        if (!(finalLrFraction >= 0 && finalLrFraction <= 1)) problems.append(" final lr fraction ").append(finalLrFraction).append(" outside [0, 1];");
        if (!(gradClip >= 0)) problems.append(" grad clip ").append(gradClip).append(" must be >= 0;");
        if (patience < 0) problems.append(" patience ").append(patience).append(" < 0;");
        if (evalBatch < 1) problems.append(" eval batch ").append(evalBatch).append(" < 1;");
        if (validationUsers < 0) problems.append(" validation users ").append(validationUsers).append(" < 0;");
        if (problems.length() > 0) throw new IllegalArgumentException("TrainConfig:" + problems.substring(0, problems.length() - 1));
    }

    /**
     * 30 epochs of 256, AdamW lr 1e-3 and weight decay 0.01 (PyTorch's default), 5% warm-up then
     * cosine to 5% of the peak, clip 1.0, patience 5, 256 users per ranking batch, all validation users.
     */
    public static TrainConfig defaults() {
        return new TrainConfig(30, 256, 1e-3, 0.01, 0.05, 0.05, 1.0, 5, 256, 0, 42L);
    }

    public TrainConfig withEpochs(int e) {
        return new TrainConfig(e, batchSize, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, validationUsers, seed);
    }

    public TrainConfig withBatchSize(int b) {
        return new TrainConfig(epochs, b, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, validationUsers, seed);
    }

    public TrainConfig withLearningRate(double lr) {
        return new TrainConfig(epochs, batchSize, lr, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, validationUsers, seed);
    }

    public TrainConfig withWeightDecay(double wd) {
        return new TrainConfig(epochs, batchSize, learningRate, wd, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, validationUsers, seed);
    }

    public TrainConfig withPatience(int p) {
        return new TrainConfig(epochs, batchSize, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, p, evalBatch, validationUsers, seed);
    }

    public TrainConfig withEvalBatch(int b) {
        return new TrainConfig(epochs, batchSize, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, b, validationUsers, seed);
    }

    public TrainConfig withValidationUsers(int n) {
        return new TrainConfig(epochs, batchSize, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, n, seed);
    }

    public TrainConfig withSeed(long s) {
        return new TrainConfig(epochs, batchSize, learningRate, weightDecay, warmupFraction, finalLrFraction, gradClip, patience, evalBatch, validationUsers, s);
    }
}
