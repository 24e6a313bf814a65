package io.reg4rec.model.tokenizer;

import io.reg4rec.engine.Device;
import io.reg4rec.model.io.SafeTensors;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * An item tokenizer: learns M codebooks from item feature vectors and maps every item to M
 * tokens. Feature matrices are {@code float[numItems + 1][F]} indexed by item id; row 0 is the
 * padding item and is ignored (it may be null). Token tables are {@code int[numItems + 1][M]}
 * with row 0 all {@link #PADDING_TOKEN}; entry [i][r] is item i's codeword in codebook r.
 *
 * <p>{@link MpqTokenizer}'s tokens are an unordered set {(r, c_r)}; {@link RqVaeTokenizer}'s are
 * ordered by residual level ({@link #orderedTokens()}).
 */
public interface Tokenizer extends AutoCloseable {
    /** The token of the padding row 0 in every table {@link #tokenize} returns. */
    int PADDING_TOKEN = -1;

    /** Checkpoint metadata key holding the tokenizer kind ("mpq" or "rqvae"). */
    String KIND_KEY = "reg4rec.tokenizer";
    /** Checkpoint metadata key holding {@link TokenizerConfig#toJson()}. */
    String CONFIG_KEY = "reg4rec.tokenizer.config";
    /** Checkpoint metadata key holding the feature width F. */
    String FEATURES_KEY = "reg4rec.tokenizer.features";

    TokenizerConfig config();

    /** "mpq" or "rqvae". */
    String kind();

    /** F, the feature width this tokenizer was built for. */
    int featureDim();

    /** True when token r only makes sense after tokens 1..r-1 (residual levels). */
    boolean orderedTokens();

    /** Trains with {@link TokenizerAdam}. */
    default TokenizerReport train(float[][] features, ProgressListener listener) {
        return train(features, listener, TokenizerAdam.factory());
    }

    /** Trains from the current weights (k-means++ re-initialises the codebooks first) with an optimizer of the caller's choice. */
    TokenizerReport train(float[][] features, ProgressListener listener, ParameterOptimizer.Factory optimizer);

    /** Tokens of every item, [numItems + 1][M], row 0 {@link #PADDING_TOKEN}s. Deterministic. */
    int[][] tokenize(float[][] features);

    /**
     * {@link #tokenize} followed by a deterministic collision resolution (see {@link DistinctTokens}):
     * items that share a full token set, except the one nearest to its codewords, move one codebook
     * to the runner-up codeword (among the {@code runnersUp} next-nearest of each codebook) that
     * costs the least extra distance and gives a set no other item holds. A post-processing step,
     * not the tokenizer's own output: report it with its counts.
     */
    DistinctTokens tokenizeDistinct(float[][] features, int runnersUp);

    /** Measures reconstruction and token statistics of the current weights on these items. */
    TokenizerReport evaluate(float[][] features);

    /** Saves weights and codebooks as safetensors, with the kind and config in the metadata. */
    void save(Path file) throws IOException;

    /** Loads a checkpoint written by {@link #save} onto a device. */
    static Tokenizer load(Path file, Device device) throws IOException {
        Map<String, String> meta = SafeTensors.readHeader(file).metadata();
        String kind = meta.get(KIND_KEY), config = meta.get(CONFIG_KEY), features = meta.get(FEATURES_KEY);
        if (kind == null || config == null || features == null) {
            throw new IOException(file + ": not a tokenizer checkpoint (metadata lacks " + KIND_KEY + ", " + CONFIG_KEY + " or " + FEATURES_KEY + ")");
        }
        TokenizerConfig c = TokenizerConfig.fromJson(config, device);
        int f = Integer.parseInt(features);
        VqTokenizer t = switch (kind) {
            case MpqTokenizer.KIND -> new MpqTokenizer(c, f);
            case RqVaeTokenizer.KIND -> new RqVaeTokenizer(c, f);
            default -> throw new IOException(file + ": unknown tokenizer kind '" + kind + "'");
        };
        try {
            SafeTensors.loadInto(file, t.network());
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Releases the weights. */
    @Override
    void close();
}
