package io.reg4rec.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Hyper-parameters shared by {@link MpqTokenizer} and {@link RqVaeTokenizer}.
 *
 * @param numCodebooks   M: parallel codebooks (MPQ) or residual levels (RQ-VAE); tokens per item
 * @param codebookSize   D: codewords per codebook
 * @param codeDim        d_c: the latent (codeword) width
 * @param encoderHidden  hidden widths of each encoder MLP (per expert for MPQ; may be empty: a linear projection)
 * @param decoderHidden  hidden widths of the decoder MLP from the latent back to the F features
 * @param alpha          weight of the orthogonality loss (MPQ only; the paper's 0.001)
 * @param beta           weight of the commitment loss (0.25 as in VQ-VAE)
 * @param learningRate   peak learning rate; it decays along a cosine to a tenth over training
 * @param epochs         passes over the items
 * @param batchSize      items per optimizer step
 * @param seed           seeds initial weights, shuffling, k-means and re-seeding
 * @param device         where the tensors live
 * @param deadAfterSteps a codeword no training batch has used for this many steps is re-seeded
 * @param kmeansSample   encoder outputs (from the first shuffled batches) that seed the codebooks by k-means++
 * @param kmeansIterations Lloyd iterations after k-means++ seeding
 * @param diversity      weight of MPQ's expert-redundancy term (the mean RV coefficient between the
 *                       experts' latent codes, {@link MpqTokenizer}), relative to the features' spread
 *                       (their mean squared distance to the mean vector); not in the paper, 0 = the
 *                       paper's loss; ignored by RQ-VAE
 */
public record TokenizerConfig(int numCodebooks, int codebookSize, int codeDim, List<Integer> encoderHidden, List<Integer> decoderHidden,
                              double alpha, double beta, double learningRate, int epochs, int batchSize, long seed, Device device,
                              int deadAfterSteps, int kmeansSample, int kmeansIterations, double diversity) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The default weight of MPQ's expert-redundancy term (see {@link #diversity()}). */
    public static final double DEFAULT_DIVERSITY = 0.35;

    public TokenizerConfig {
        encoderHidden = List.copyOf(encoderHidden);
        decoderHidden = List.copyOf(decoderHidden);
        List<String> problems = new ArrayList<>();
        if (numCodebooks < 1) problems.add("numCodebooks " + numCodebooks + " < 1");
        if (codebookSize < 2) problems.add("codebookSize " + codebookSize + " < 2");
        if (codeDim < 1) problems.add("codeDim " + codeDim + " < 1");
        for (int h : encoderHidden) if (h < 1) problems.add("encoder hidden width " + h + " < 1");
        for (int h : decoderHidden) if (h < 1) problems.add("decoder hidden width " + h + " < 1");
        if (!(alpha >= 0)) problems.add("alpha " + alpha + " must be >= 0");
        if (!(beta >= 0)) problems.add("beta " + beta + " must be >= 0");
        if (!(learningRate > 0)) problems.add("learningRate " + learningRate + " must be > 0");
        if (epochs < 0) problems.add("epochs " + epochs + " < 0");
        if (batchSize < 1) problems.add("batchSize " + batchSize + " < 1");
        if (deadAfterSteps < 1) problems.add("deadAfterSteps " + deadAfterSteps + " < 1");
        if (kmeansSample < 1) problems.add("kmeansSample " + kmeansSample + " < 1");
        if (kmeansIterations < 0) problems.add("kmeansIterations " + kmeansIterations + " < 0");
        if (!(diversity >= 0)) problems.add("diversity " + diversity + " must be >= 0");
        if (device == null) problems.add("device is null");
        if (!problems.isEmpty()) throw new IllegalArgumentException("TokenizerConfig: " + String.join("; ", problems));
    }

    /**
     * The paper's M = 8, D = 300, alpha = 0.001, with our choices for what it leaves open:
     * d_c = 32, one hidden layer of 64 per expert, a 256-wide decoder hidden layer, beta = 0.25,
     * peak lr 5e-3, 100 epochs of 1024-item batches (1,200 steps for Beauty's 12,101 items: about
     * 3.5 minutes for MPQ and 1.5 for RQ-VAE on 2 CPU cores with 256 features), on the CPU; MPQ's
     * expert-redundancy weight gamma = {@link #DEFAULT_DIVERSITY} (not in the paper; it took real
     * Beauty features from a 2.4% collision rate to under 1%, see the README).
     */
    public static TokenizerConfig defaults() {
        return new TokenizerConfig(8, 300, 32, List.of(64), List.of(256), 0.001, 0.25, 5e-3, 100, 1024, 42L, Device.CPU, 30, 4096, 10, DEFAULT_DIVERSITY);
    }

    /** Expert-redundancy weight, see {@link #defaults()} and {@link MpqTokenizer}. */
    public TokenizerConfig withDiversity(double weight) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, weight);
    }

    public TokenizerConfig withCodebooks(int m, int d) {
        return new TokenizerConfig(m, d, codeDim, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withCodeDim(int dc) {
        return new TokenizerConfig(numCodebooks, codebookSize, dc, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withHidden(List<Integer> encoder, List<Integer> decoder) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoder, decoder, alpha, beta, learningRate, epochs, batchSize, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withLosses(double a, double b) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, a, b, learningRate, epochs, batchSize, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withTraining(double lr, int e, int batch) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, alpha, beta, lr, e, batch, seed, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withSeed(long s) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, s, device, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withDevice(Device d) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, seed, d, deadAfterSteps, kmeansSample, kmeansIterations, diversity);
    }

    public TokenizerConfig withCodebookUpkeep(int deadSteps, int sample, int iterations) {
        return new TokenizerConfig(numCodebooks, codebookSize, codeDim, encoderHidden, decoderHidden, alpha, beta, learningRate, epochs, batchSize, seed, device, deadSteps, sample, iterations, diversity);
    }

    /** JSON for a checkpoint's metadata (the device is not stored: a checkpoint loads onto any device). */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("numCodebooks", numCodebooks).put("codebookSize", codebookSize).put("codeDim", codeDim);
        ArrayNode enc = n.putArray("encoderHidden");
        encoderHidden.forEach(enc::add);
        ArrayNode dec = n.putArray("decoderHidden");
        decoderHidden.forEach(dec::add);
        n.put("alpha", alpha).put("beta", beta).put("learningRate", learningRate).put("epochs", epochs).put("batchSize", batchSize)
                .put("seed", seed).put("deadAfterSteps", deadAfterSteps).put("kmeansSample", kmeansSample).put("kmeansIterations", kmeansIterations)
                .put("diversity", diversity);
        return n.toString();
    }

    /** Parses {@link #toJson()} output, placing the tokenizer on {@code device}. */
    public static TokenizerConfig fromJson(String json, Device device) {
        try {
            JsonNode n = JSON.readTree(json);
            return new TokenizerConfig(need(n, "numCodebooks").asInt(), need(n, "codebookSize").asInt(), need(n, "codeDim").asInt(),
                    ints(need(n, "encoderHidden")), ints(need(n, "decoderHidden")), need(n, "alpha").asDouble(), need(n, "beta").asDouble(),
                    need(n, "learningRate").asDouble(), need(n, "epochs").asInt(), need(n, "batchSize").asInt(), need(n, "seed").asLong(), device,
                    need(n, "deadAfterSteps").asInt(), need(n, "kmeansSample").asInt(), need(n, "kmeansIterations").asInt(),
                    n.has("diversity") ? n.get("diversity").asDouble() : 0.0);   // checkpoints from before the term: trained without it
        } catch (IOException e) {
            throw new UncheckedIOException("TokenizerConfig: bad JSON " + json, e);
        }
    }

    private static JsonNode need(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null) throw new IllegalArgumentException("TokenizerConfig: JSON lacks '" + key + "': " + n);
        return v;
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(x -> out.add(x.asInt()));
        return out;
    }
}
