package io.reg4rec.model.tokenizer;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.model.nn.Module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What MPQ and RQ-VAE share: input checks, the mini-batch training loop (shuffling, k-means++
 * codebook initialisation from the first shuffled items, a cosine learning-rate decay, dead
 * codeword re-seeding, progress), tokenization, evaluation and checkpoints. Subclasses supply the
 * network and its forward passes.
 */
abstract sealed class VqTokenizer implements Tokenizer permits MpqTokenizer, RqVaeTokenizer {
    /** Items per forward pass when tokenizing or evaluating (no gradients, so larger than a training batch). */
    static final int INFERENCE_CHUNK = 4096;
    /** The learning rate decays along a cosine from its peak to this fraction of it. */
    static final double FINAL_LR_FRACTION = 0.1;
    /** Re-seeding stops for the last tenth of training so that the last re-seeded codewords settle. */
    static final double RESEED_UNTIL = 0.9;

    protected final TokenizerConfig config;
    protected final int featureDim;
    /**
     * Mean squared distance of the training items to their mean vector (the reconstruction loss of
     * predicting the mean), set when training starts; scale-dependent extra terms are weighted by
     * it so that their weight means the same for features of any scale. 1 until then.
     */
    protected double featureSpread = 1.0;

    /** The losses of one training forward pass, with what the loop needs for codebook upkeep. */
    record StepLosses(Variable total, Variable recon, Variable orth, Variable vq, long[][] tokens, List<Tensor> candidates) {}

    VqTokenizer(TokenizerConfig config, int featureDim) {
        if (featureDim < 1) throw new IllegalArgumentException(getClass().getSimpleName() + ": feature width " + featureDim + " < 1");
        this.config = config;
        this.featureDim = featureDim;
    }

    /** Every trainable parameter, codebooks included; the checkpoint's contents. */
    abstract Module network();

    abstract Codebooks codebooks();

    /** Sets every codebook by k-means++ from the encoder outputs of a sample of items [S, F]. */
    abstract void initialiseCodebooks(Tensor sample, long seed);

    /** The training forward pass over a batch [B, F]: losses (with graph), tokens and re-seed candidates. */
    abstract StepLosses trainingLosses(Variable batch);

    /** Tokens of a batch [B, F] as [M][B], without gradients. */
    abstract long[][] encode(Tensor batch);

    /** dec(q) for a batch [B, F], without gradients. */
    abstract Tensor reconstruct(Tensor batch);

    /** Squared distances of each item's latent (MPQ) or residual (RQ-VAE) to every codeword, [M, B, D], without gradients. */
    abstract Tensor codewordDistances(Tensor batch);

    /** Codebooks whose token collision resolution may change. */
    abstract boolean[] adjustableCodebooks();

    /** The orthogonality loss of the current weights, NaN when the tokenizer has none. */
    abstract double orthLoss();

    @Override
    public TokenizerConfig config() { return config; }

    @Override
    public int featureDim() { return featureDim; }

    // ---------------------------------------------------------------- training

    @Override
    public TokenizerReport train(float[][] features, ProgressListener listener, ParameterOptimizer.Factory optimizerFactory) {
        long started = System.nanoTime();
        float[] items = flatten(features, "train");
        int n = features.length - 1, batchSize = Math.min(config.batchSize(), n);
        int batchesPerEpoch = (n + batchSize - 1) / batchSize;
        long totalSteps = (long) config.epochs() * batchesPerEpoch;
        SplittableRandom rng = new SplittableRandom(config.seed());
        int[] order = Codebooks.permutation(n, rng);
        featureSpread = Math.max(baselineRecon(items, n), Double.MIN_NORMAL);

        // k-means++ on the first shuffled items (the first batches of epoch 1)
        int sampleSize = Math.min(n, Math.max(config.kmeansSample(), config.codebookSize()));
        try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
            initialiseCodebooks(rows(items, order, 0, sampleSize), rng.nextLong());
        }

        int[] reseeded = new int[config.numCodebooks()];
        double[] epochLosses = new double[config.epochs()];
        long step = 0;
        try (ParameterOptimizer optimizer = optimizerFactory.create(network().namedParameters())) {
            for (int epoch = 0; epoch < config.epochs(); epoch++) {
                if (epoch > 0) order = Codebooks.permutation(n, rng);
                double loss = 0, recon = 0, orth = 0, vq = 0;
                int reseededThisEpoch = 0;
                for (int start = 0; start < n; start += batchSize) {
                    int end = Math.min(n, start + batchSize);
                    step++;
                    try (Scope scope = Scope.open()) {
                        StepLosses l = trainingLosses(Variable.constant(rows(items, order, start, end)));
                        loss += l.total().item();
                        recon += l.recon().item();
                        orth += l.orth() == null ? Double.NaN : l.orth().item();
                        vq += l.vq().item();
                        l.total().backward();
                        optimizer.step(learningRate(step, totalSteps));
                        network().zeroGrad();
                        int[] r = codebooks().upkeep(l.tokens(), l.candidates(), step, config.deadAfterSteps(), step < RESEED_UNTIL * totalSteps, rng);
                        for (int g = 0; g < r.length; g++) {
                            reseeded[g] += r[g];
                            reseededThisEpoch += r[g];
                        }
                    }
                }
                epochLosses[epoch] = loss / batchesPerEpoch;
                listener.onEpoch(new ProgressListener.EpochProgress(epoch + 1, config.epochs(), step, loss / batchesPerEpoch,
                        recon / batchesPerEpoch, orth / batchesPerEpoch, vq / batchesPerEpoch, reseededThisEpoch, (System.nanoTime() - started) / 1e9));
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return measure(features, items, reseeded, epochLosses, step, seconds);
    }

    /** Peak rate decaying along a half cosine to {@link #FINAL_LR_FRACTION} of it at the last step. */
    double learningRate(long step, long totalSteps) {
        double progress = totalSteps <= 1 ? 0 : (double) (step - 1) / (totalSteps - 1);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return config.learningRate() * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * cosine);
    }

    // ---------------------------------------------------------------- inference

    @Override
    public int[][] tokenize(float[][] features) {
        float[] items = flatten(features, "tokenize");
        return tokenizeFlat(items, features.length - 1);
    }

    private int[][] tokenizeFlat(float[] items, int n) {
        int m = config.numCodebooks();
        int[][] out = new int[n + 1][m];
        Arrays.fill(out[0], PADDING_TOKEN);
        for (int start = 0; start < n; start += INFERENCE_CHUNK) {
            int end = Math.min(n, start + INFERENCE_CHUNK);
            try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
                long[][] tokens = encode(contiguousRows(items, start, end));
                for (int r = 0; r < m; r++) {
                    for (int i = start; i < end; i++) out[i + 1][r] = (int) tokens[r][i - start];
                }
            }
        }
        return out;
    }

    @Override
    public DistinctTokens tokenizeDistinct(float[][] features, int runnersUp) {
        if (runnersUp < 1) throw new IllegalArgumentException(getClass().getSimpleName() + ".tokenizeDistinct: runnersUp " + runnersUp + " < 1");
        float[] items = flatten(features, "tokenizeDistinct");
        int n = features.length - 1, m = config.numCodebooks(), size = config.codebookSize();
        int keep = Math.min(size, runnersUp + 1);
        int[][] tokens = tokenizeFlat(items, n);
        int[][][] candidates = new int[n + 1][][];
        float[][][] distances = new float[n + 1][][];
        for (int start = 0; start < n; start += INFERENCE_CHUNK) {
            int end = Math.min(n, start + INFERENCE_CHUNK), b = end - start;
            float[] all;
            try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
                all = codewordDistances(contiguousRows(items, start, end)).contiguous().toFloatArray();   // [M, B, D]
            }
            for (int i = start; i < end; i++) {
                candidates[i + 1] = new int[m][];
                distances[i + 1] = new float[m][];
                for (int r = 0; r < m; r++) {
                    int base = (r * b + (i - start)) * size;
                    // the token first (exactly tokenize's choice), then the nearest others by distance, ties to the lower index
                    int token = tokens[i + 1][r];
                    Integer[] order = new Integer[size - 1];
                    for (int j = 0, k = 0; j < size; j++) if (j != token) order[k++] = j;
                    Arrays.sort(order, (x, y) -> all[base + x] != all[base + y] ? Float.compare(all[base + x], all[base + y]) : Integer.compare(x, y));
                    int[] c = new int[keep];
                    float[] d = new float[keep];
                    c[0] = token;
                    d[0] = all[base + token];
                    for (int k = 1; k < keep; k++) {
                        c[k] = order[k - 1];
                        d[k] = Math.max(all[base + c[k]], d[0]);   // never below the token's own (float rounding in a near-tie)
                    }
                    candidates[i + 1][r] = c;
                    distances[i + 1][r] = d;
                }
            }
        }
        return DistinctTokens.resolve(candidates, distances, adjustableCodebooks());
    }

    @Override
    public TokenizerReport evaluate(float[][] features) {
        float[] items = flatten(features, "evaluate");
        return measure(features, items, new int[config.numCodebooks()], new double[0], 0, 0);
    }

    private TokenizerReport measure(float[][] features, float[] items, int[] reseeded, double[] epochLosses, long steps, double seconds) {
        int n = features.length - 1;
        double recon = 0;
        for (int start = 0; start < n; start += INFERENCE_CHUNK) {
            int end = Math.min(n, start + INFERENCE_CHUNK);
            try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
                Tensor x = contiguousRows(items, start, end);
                recon += reconstruct(x).sub(x).pow(2.0).sumAll().item();
            }
        }
        double orth;
        try (Scope scope = Scope.open(); NoGrad ignored = NoGrad.enter()) {
            orth = orthLoss();
        }
        TokenStats stats = TokenStats.of(tokenizeFlat(items, n), config.codebookSize());
        return new TokenizerReport(kind(), n, recon / n, baselineRecon(items, n), orth, stats, reseeded, epochLosses, steps, seconds);
    }

    /** Mean squared distance of the items to their mean vector. */
    private double baselineRecon(float[] items, int n) {
        double[] mean = new double[featureDim];
        for (int i = 0; i < n; i++) for (int f = 0; f < featureDim; f++) mean[f] += items[i * featureDim + f];
        for (int f = 0; f < featureDim; f++) mean[f] /= n;
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < featureDim; f++) {
                double d = items[i * featureDim + f] - mean[f];
                total += d * d;
            }
        }
        return total / n;
    }

    // ---------------------------------------------------------------- checkpoints

    @Override
    public void save(Path file) throws IOException {
        SafeTensors.save(file, network(), Map.of(KIND_KEY, kind(), CONFIG_KEY, config.toJson(), FEATURES_KEY, Integer.toString(featureDim)));
    }

    @Override
    public void close() {
        network().close();
    }

    // ---------------------------------------------------------------- data

    /** Items 1..N of a feature table as one row-major array [N * F], after checking the table. */
    private float[] flatten(float[][] features, String op) {
        String who = getClass().getSimpleName() + "." + op;
        if (features == null || features.length < 2) {
            throw new IllegalArgumentException(who + ": needs rows 0..N with N >= 1 items (row 0 is padding), got "
                    + (features == null ? "null" : features.length + " rows"));
        }
        int n = features.length - 1;
        float[] flat = new float[Math.multiplyExact(n, featureDim)];
        for (int i = 1; i <= n; i++) {
            float[] row = features[i];
            if (row == null || row.length != featureDim) {
                throw new IllegalArgumentException(who + ": item " + i + " has " + (row == null ? "no row" : row.length + " features")
                        + ", the tokenizer expects " + featureDim);
            }
            for (int f = 0; f < featureDim; f++) {
                if (!Float.isFinite(row[f])) throw new IllegalArgumentException(who + ": item " + i + " feature " + f + " is " + row[f]);
            }
            System.arraycopy(row, 0, flat, (i - 1) * featureDim, featureDim);
        }
        return flat;
    }

    /** Items order[start..end) as a tensor [end - start, F] on the configured device. */
    private Tensor rows(float[] items, int[] order, int start, int end) {
        float[] batch = new float[(end - start) * featureDim];
        for (int i = start; i < end; i++) System.arraycopy(items, order[i] * featureDim, batch, (i - start) * featureDim, featureDim);
        return Tensor.of(config.device(), batch, end - start, featureDim);
    }

    private Tensor contiguousRows(float[] items, int start, int end) {
        return Tensor.of(config.device(), Arrays.copyOfRange(items, start * featureDim, end * featureDim), end - start, featureDim);
    }
}
